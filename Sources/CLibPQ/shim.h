#ifndef PLANROUTER_CLIBPQ_SHIM_H
#define PLANROUTER_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
