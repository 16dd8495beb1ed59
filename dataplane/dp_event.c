/* dp_event.c: being written */
