/* st_features.c: being written */
