/* ctl_sink.c: being written */
