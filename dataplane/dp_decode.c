/* dp_decode.c: being written */
