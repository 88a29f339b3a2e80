// tests/sanitizers: linked into every test of `bazel test --config=tsan`
// (through --custom_malloc in .bazelrc), never into a normal build.
//
// Why this file exists. Debian's Abseil is a prebuilt .so compiled without
// -fsanitize=thread, so ThreadSanitizer does not see absl::Mutex acquire or
// release anything: every access guarded by an absl::Mutex would be reported
// as a data race. The two other answers were rejected:
//  - Suppressions (race:absl::..., called_from_lib:libabsl_*) only silence
//    reports whose stack passes through Abseil; the false reports are on our
//    own guarded accesses (pool.cc, body_stream.cc, ...), whose stacks do not.
//    Suppressing those would hide real races in the same functions.
//  - Building Abseil from source with TSan: the build is offline, Debian
//    ships no instrumented Abseil and no sources in the build.
// So this file interposes the out-of-line functions of absl::Mutex,
// absl::CondVar and absl::Notification: the test binary defines them (the
// executable's definition wins over the .so's in the dynamic linker's symbol
// lookup, for our calls and for Abseil's own), tells TSan what they do with
// the __tsan_mutex_* annotations (real reader/writer mutex semantics, lock
// order checking, and the accesses made inside the real function, such as a
// Condition evaluated by another thread's Unlock, are ignored), and calls the
// real function found with dlsym(RTLD_NEXT, mangled name).
//
// Soundness: annotations only add the happens-before edges the real mutex
// provides (lock after unlock on the same mutex); they never hide an access
// outside a mutex's critical section. tsan_race_test (manual) checks that an
// unguarded race is still reported; tsan_absl_mutex_test checks that a
// correct program using each annotated function gives no report.
// Not covered: inline fast paths of Abseil's headers that use atomics on
// state written by the .so, other than Notification::HasBeenNotified (handled
// below). absl::BlockingCounter and absl::Barrier are not used here.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define FRAISEQL_STR2(x) #x
#define FRAISEQL_STR(x) FRAISEQL_STR2(x)

// The real function behind a mangled Abseil name given without its
// "_ZN4absl<inline namespace>" prefix (a const member's with "K" first) (Debian's inline namespace is read
// from absl/base/options.h so a new Abseil keeps working).
void* RealSymbol(const char* suffix) {
  const char* ns = FRAISEQL_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  // A const member function's name starts "_ZNK": its suffix starts "K".
  const bool is_const = suffix[0] == 'K';
  std::string name = std::string(is_const ? "_ZNK" : "_ZN") + "4absl" +
                     std::to_string(std::strlen(ns)) + ns +
                     (is_const ? suffix + 1 : suffix);
  void* sym = dlsym(RTLD_NEXT, name.c_str());
  if (sym == nullptr) {
    std::fprintf(stderr, "tsan_absl_shim: no symbol %s in Abseil\n",
                 name.c_str());
    std::abort();
  }
  return sym;
}

template <typename Fn>
Fn Real(const char* suffix) {
  return reinterpret_cast<Fn>(RealSymbol(suffix));
}

// Abseil's own calls between these functions also go through the
// executable's definitions (e.g. the real AwaitWithTimeout calls
// AwaitWithDeadline, Notification calls Mutex::LockWhen): only the outermost
// call of a thread is annotated, nested ones go straight to the real
// function, or TSan would see every unlock twice.
thread_local int shim_depth = 0;

struct Outermost {
  Outermost() : nested(shim_depth++ > 0) {}
  ~Outermost() { --shim_depth; }
  const bool nested;
};

// Looks up the real function once, and returns it directly from a nested
// call. Every interposer starts with it.
#define REAL(type, suffix, ...)                \
  static const auto real = Real<type>(suffix); \
  Outermost outermost;                         \
  if (outermost.nested) return real(__VA_ARGS__)

constexpr unsigned kRead = __tsan_mutex_read_lock;

// The mutexes this thread holds as a reader (a reader may hold several).
thread_local std::vector<const void*> reader_held;

void NoteReaderLock(const void* mu) { reader_held.push_back(mu); }
void NoteReaderUnlock(const void* mu) {
  auto it = std::find(reader_held.rbegin(), reader_held.rend(), mu);
  if (it != reader_held.rend()) reader_held.erase(std::next(it).base());
}
unsigned HeldMode(const void* mu) {
  return std::find(reader_held.begin(), reader_held.end(), mu) !=
                 reader_held.end()
             ? kRead
             : 0;
}

// A blocking call that may release `mu` and always returns with it held in
// the same mode (CondVar::Wait*, Mutex::Await*): to TSan, an unlock before
// and a lock after, with the real call's own accesses ignored.
template <typename Call>
auto ReleaseAndReacquire(void* mu, unsigned mode, Call call) {
  __tsan_mutex_pre_unlock(mu, mode);
  auto result = call();
  __tsan_mutex_post_unlock(mu, mode);
  __tsan_mutex_pre_lock(mu, mode);
  __tsan_mutex_post_lock(mu, mode, 0);
  return result;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// --- Mutex: plain lock and unlock

void Mutex::Lock() {
  REAL(void (*)(Mutex*), "5Mutex4LockEv", this);
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLock() {
  REAL(void (*)(Mutex*), "5Mutex10ReaderLockEv", this);
  __tsan_mutex_pre_lock(this, kRead);
  real(this);
  __tsan_mutex_post_lock(this, kRead, 0);
  NoteReaderLock(this);
}

void Mutex::Unlock() {
  REAL(void (*)(Mutex*), "5Mutex6UnlockEv", this);
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  REAL(void (*)(Mutex*), "5Mutex12ReaderUnlockEv", this);
  NoteReaderUnlock(this);
  __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  __tsan_mutex_post_unlock(this, kRead);
}

bool Mutex::TryLock() {
  REAL(bool (*)(Mutex*), "5Mutex7TryLockEv", this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  bool locked = real(this);
  __tsan_mutex_post_lock(
      this, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed),
      0);
  return locked;
}

bool Mutex::ReaderTryLock() {
  REAL(bool (*)(Mutex*), "5Mutex13ReaderTryLockEv", this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_read_lock);
  bool locked = real(this);
  __tsan_mutex_post_lock(
      this,
      __tsan_mutex_try_read_lock | (locked ? 0 : __tsan_mutex_try_lock_failed),
      0);
  if (locked) NoteReaderLock(this);
  return locked;
}

Mutex::~Mutex() {
  static const auto real = Real<void (*)(Mutex*)>("5MutexD2Ev");
  Outermost outermost;
  if (!outermost.nested) __tsan_mutex_destroy(this, 0);
  real(this);
}

// --- Mutex: conditional lock (returns with the lock held either way)

void Mutex::LockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition*), "5Mutex8LockWhenERKNS0_9ConditionE",
       this, &cond);
  __tsan_mutex_pre_lock(this, 0);
  real(this, &cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition*),
       "5Mutex14ReaderLockWhenERKNS0_9ConditionE", this, &cond);
  __tsan_mutex_pre_lock(this, kRead);
  real(this, &cond);
  __tsan_mutex_post_lock(this, kRead, 0);
  NoteReaderLock(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition*, Duration),
       "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE", this,
       &cond, timeout);
  __tsan_mutex_pre_lock(this, 0);
  bool r = real(this, &cond, timeout);
  __tsan_mutex_post_lock(this, 0, 0);
  return r;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition*, Duration),
       "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
       this, &cond, timeout);
  __tsan_mutex_pre_lock(this, kRead);
  bool r = real(this, &cond, timeout);
  __tsan_mutex_post_lock(this, kRead, 0);
  NoteReaderLock(this);
  return r;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition*, Time),
       "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE", this, &cond,
       deadline);
  __tsan_mutex_pre_lock(this, 0);
  bool r = real(this, &cond, deadline);
  __tsan_mutex_post_lock(this, 0, 0);
  return r;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition*, Time),
       "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE", this,
       &cond, deadline);
  __tsan_mutex_pre_lock(this, kRead);
  bool r = real(this, &cond, deadline);
  __tsan_mutex_post_lock(this, kRead, 0);
  NoteReaderLock(this);
  return r;
}

// --- Mutex: Await (held on entry and exit, released while waiting)
// Await may be called with the lock held as a reader or as a
// writer; TSan must be told the mode it was taken in. The thread's reader locks
// are recorded below (readers are rare and few: a short vector per thread).

void Mutex::Await(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition*), "5Mutex5AwaitERKNS0_9ConditionE",
       this, &cond);
  ReleaseAndReacquire(this, HeldMode(this), [&] {
    real(this, &cond);
    return 0;
  });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition*, Duration),
       "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE", this, &cond,
       timeout);
  return ReleaseAndReacquire(this, HeldMode(this),
                             [&] { return real(this, &cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition*, Time),
       "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE", this, &cond,
       deadline);
  return ReleaseAndReacquire(this, HeldMode(this),
                             [&] { return real(this, &cond, deadline); });
}

// --- CondVar: waits release and reacquire `mu` (held in writer mode)

void CondVar::Wait(Mutex* mu) {
  REAL(void (*)(CondVar*, Mutex*), "7CondVar4WaitEPNS0_5MutexE", this, mu);
  ReleaseAndReacquire(mu, 0, [&] {
    real(this, mu);
    return 0;
  });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  REAL(bool (*)(CondVar*, Mutex*, Duration),
       "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE", this, mu,
       timeout);
  return ReleaseAndReacquire(mu, 0, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  REAL(bool (*)(CondVar*, Mutex*, Time),
       "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE", this, mu, deadline);
  return ReleaseAndReacquire(mu, 0, [&] { return real(this, mu, deadline); });
}

// Signal and SignalAll need no edge: the waiter reacquires the mutex the
// signaller's data is guarded by.

// --- Notification
// HasBeenNotified() is inline: an (instrumented) acquire load of
// notified_yet_, which the .so stores without TSan seeing it. A release on
// that address before the real Notify() makes the load synchronize; the
// waits acquire it after they return true.

namespace {
void* NotifiedYet(const Notification* n) {
  static_assert(sizeof(Notification) == sizeof(Mutex) + sizeof(void*),
                "absl::Notification is {Mutex mutex_; atomic<bool> "
                "notified_yet_;}: check the layout of this Abseil");
  return const_cast<char*>(reinterpret_cast<const char*>(n) + sizeof(Mutex));
}
}  // namespace

void Notification::Notify() {
  REAL(void (*)(Notification*), "12Notification6NotifyEv", this);
  __tsan_release(NotifiedYet(this));
  real(this);
}

void Notification::WaitForNotification() const {
  REAL(void (*)(const Notification*), "K12Notification19WaitForNotificationEv",
       this);
  real(this);
  __tsan_acquire(NotifiedYet(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  REAL(bool (*)(const Notification*, Duration),
       "K12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", this,
       timeout);
  bool r = real(this, timeout);
  if (r) __tsan_acquire(NotifiedYet(this));
  return r;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  REAL(bool (*)(const Notification*, Time),
       "K12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", this,
       deadline);
  bool r = real(this, deadline);
  if (r) __tsan_acquire(NotifiedYet(this));
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl
