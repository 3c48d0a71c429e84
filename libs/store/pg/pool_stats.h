// PgPoolStats: a connection pool's occupancy, without the pool's (libpqxx) header.
#ifndef LONGRUN_STORE_PG_POOL_STATS_H_
#define LONGRUN_STORE_PG_POOL_STATS_H_

namespace longrun::store::pg {

struct PgPoolStats {
  int in_use = 0;  // connections lent to a caller now
  int idle = 0;    // open connections waiting in the pool
  int size = 0;    // the most the pool opens
};

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_POOL_STATS_H_
