/* The release version, shown by --version, in logs and in /api/status. */
#ifndef APP_VERSION_H
#define APP_VERSION_H

#define REDISAPP_VERSION "0.2.0"

#endif
