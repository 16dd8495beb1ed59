/* ctl_output.c: being written */
