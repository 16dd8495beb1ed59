/* wr_yaml.c: being written */
