/* st_watermark.c: being written */
