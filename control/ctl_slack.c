/* ctl_slack.c: being written */
