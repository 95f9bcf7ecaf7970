/* Clocks in milliseconds: monotonic for time that passes (timeouts, waits,
 * elapsed), Unix time for instants other programs name (Lambda's deadline). */
#ifndef JB_CLOCK_H
#define JB_CLOCK_H

/* CLOCK_MONOTONIC: never jumps when the wall clock is set. */
long long jb_clock_mono_ms(void);
/* CLOCK_REALTIME: milliseconds since the Unix epoch. */
long long jb_clock_unix_ms(void);

#endif
