/* dp_frag.c: being written */
