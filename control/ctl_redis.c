/* ctl_redis.c: being written */
