/* st_session.c: being written */
