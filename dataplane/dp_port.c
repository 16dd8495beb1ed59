/* dp_port.c: being written */
