// Idempotency keys the gateway attaches to writes that accept one (Formance's Idempotency-Key
// header), so a retried write lands once. The same key is reused on every attempt of a call.
//
// Thread safety: GenerateIdempotencyKey is thread-safe when `random` is (all Random impls are).
#ifndef FGW_SERVER_RETRY_IDEMPOTENCY_KEY_H_
#define FGW_SERVER_RETRY_IDEMPOTENCY_KEY_H_

#include <string>

#include "server/upstream/http_message.h"  // kIdempotencyKeyHeader
#include "server/util/random.h"

namespace fgw {

// A random UUID version 4 in canonical lowercase text: "xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx"
// (N in 8..b), 122 random bits from `random`.
std::string GenerateIdempotencyKey(Random& random);

}  // namespace fgw

#endif  // FGW_SERVER_RETRY_IDEMPOTENCY_KEY_H_
