/* LD_PRELOAD shim for the xrootd integration tests (compiled by the test with `cc`).
 *
 * 1. bind(): xrootd 5.5 cannot be told which address to listen on; a wildcard bind (0.0.0.0 or
 *    ::) is rewritten to loopback (127.0.0.1, or ::ffff:127.0.0.1 on a dual-stack socket), so the
 *    test server is never reachable from outside the machine.
 * 2. curl_easy_perform(): scitokens-cpp fetches the issuer's discovery document and JWKS with
 *    libcurl's built-in CA bundle and ignores SSL_CERT_FILE/CURL_CA_BUNDLE. When
 *    TOK_TEST_CURL_CAINFO is set, every transfer gets CURLOPT_CAINFO = that file (the test CA)
 *    just before it runs. No curl headers needed: CURLOPT_CAINFO is 10065 in every libcurl. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_bind)(int, const struct sockaddr *, socklen_t);
    if (!real_bind)
        real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in a;
        memcpy(&a, addr, sizeof a);
        if (a.sin_addr.s_addr == htonl(INADDR_ANY)) {
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&a, sizeof a);
        }
    } else if (addr && addr->sa_family == AF_INET6 &&
               len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 a;
        memcpy(&a, addr, sizeof a);
        if (memcmp(&a.sin6_addr, &in6addr_any, sizeof a.sin6_addr) == 0) {
            static const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0xff, 0xff, 127, 0, 0, 1};
            memcpy(&a.sin6_addr, mapped, sizeof mapped);
            return real_bind(fd, (const struct sockaddr *)&a, sizeof a);
        }
    }
    return real_bind(fd, addr, len);
}

typedef void CURL;
#define TOK_CURLOPT_CAINFO 10065

int curl_easy_perform(CURL *h) {
    static int (*real_perform)(CURL *);
    static int (*setopt)(CURL *, int, ...);
    if (!real_perform) {
        /* libcurl may have come in with a plugin dlopen()ed RTLD_LOCAL, invisible to RTLD_NEXT:
         * ask for it by name (it is loaded already, since a caller has a CURL handle). */
        void *lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD);
        if (!lib) lib = dlopen("libcurl.so.4", RTLD_LAZY);
        if (!lib) lib = RTLD_NEXT;
        setopt = (int (*)(CURL *, int, ...))dlsym(lib, "curl_easy_setopt");
        real_perform = (int (*)(CURL *))dlsym(lib, "curl_easy_perform");
    }
    const char *ca = getenv("TOK_TEST_CURL_CAINFO");
    if (ca && *ca && setopt) setopt(h, TOK_CURLOPT_CAINFO, ca);
    return real_perform(h);
}
