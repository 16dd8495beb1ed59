/* dp_worker.c: being written */
