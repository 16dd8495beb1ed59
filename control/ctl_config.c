/* ctl_config.c: being written */
