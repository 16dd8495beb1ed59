/* rules.c: being written */
