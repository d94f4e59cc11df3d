/*
 * bcryptprimitives.dll for Wine 8, which lacks it.
 *
 * Rust's std for Windows (1.78+) gets its random bytes (HashMap keys) from
 * bcryptprimitives!ProcessPrng, which Wine only gained in 9.x. This stand-in exports the same
 * function on top of bcrypt!BCryptGenRandom with the system-preferred RNG, which Wine 8 has.
 * It is a test fixture for ci/wine.sh only: built with x86_64-w64-mingw32-gcc, copied into the
 * Wine prefix's system32 and loaded as a native DLL.
 *
 * ProcessPrng is documented to always return TRUE; if the RNG fails anyway we abort rather than
 * hand back unrandom bytes silently.
 */
#include <windows.h>
#include <bcrypt.h>
#include <stdlib.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            abort();
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
