/* dp_syslog.c: being written */
