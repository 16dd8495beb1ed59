/* st_window.c: being written */
