/* ctl_model.c: being written */
