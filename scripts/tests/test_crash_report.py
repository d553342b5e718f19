import unittest

from helpers import SCRIPTS
from fuzzing import crash_report

ROOT = "/repo"
assert SCRIPTS.is_dir()  # helpers put scripts/ on the import path

ASAN = """INFO: Seed: 1
Running: crash-1
=================================================================
==6626==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000054 at pc 0x5 bp 0x7 sp 0x7
READ of size 1 at 0x602000000054 thread T0
    #0 0x55b40d64d277 in (anonymous namespace)::read_past_end(unsigned char const*, unsigned long) /repo/fuzz/t.cc:18:10
    #1 0x55b40d64d025 in LLVMFuzzerTestOneInput /repo/fuzz/t.cc:33:47
    #2 0x55b40d5732a3 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) (/b/t+0x432a3) (BuildId: 64)
    #3 0x7f4272945249 in __libc_start_call_main csu/../sysdeps/nptl/libc_start_call_main.h:58:16

0x602000000054 is located 0 bytes to the right of 4-byte region
allocated by thread T0 here:
    #0 0x55b40d64aa6d in operator new[](unsigned long) (/b/t+0x11aa6d) (BuildId: 64)
    #1 0x55b40d64d152 in (anonymous namespace)::other_function(unsigned long) /repo/fuzz/t.cc:15:15
"""

TIMEOUT = """ALARM: working on the last Unit for 1 seconds
       and the timeout value is 1 (use -timeout=N to change)
==6629== ERROR: libFuzzer: timeout after 1 seconds
    #0 0x55587ce3ec91 in __sanitizer_print_stack_trace (/b/t+0xe9c91) (BuildId: 64)
    #1 0x55587cdb15e8 in fuzzer::PrintStackTrace() (/b/t+0x5c5e8) (BuildId: 64)
    #3 0x7f2f8de3a04f  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f) (BuildId: 93)
    #4 0x55587ce72393 in (anonymous namespace)::spin_forever() /repo/fuzz/t.cc:22:36
    #5 0x55587ce72074 in LLVMFuzzerTestOneInput /repo/fuzz/t.cc:34:40
"""


def abort_log(op_line):
    return f"""#1234\tNEW    cov: 10 ft: 20 corp: 3/40b lim: 4 exec/s: 0 rss: 30Mb L: 4/4 MS: 1 ChangeBit-
mem_fuzzer: GuestMemory disagrees with the model
{op_line}
  model predicted: ok 0x1234
  subsystem did:   unmapped: no region backs the access (address 0x80001000, size 8)
==42== ERROR: libFuzzer: deadly signal
    #0 0x5 in __sanitizer_print_stack_trace (/b/t+0x1) (BuildId: 1)
    #5 0x7 in abort stdlib/abort.c:79:7
    #6 0x8 in LLVMFuzzerTestOneInput /repo/fuzz/mem_fuzzer.cc:21:5
    #7 0x9 in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) (/b/t+0x2)
"""


class CrashReportTest(unittest.TestCase):
    def test_asan_kind_detail_and_project_frames_of_the_first_stack(self):
        r = crash_report.parse(ASAN, ROOT)
        self.assertEqual((r.kind, r.detail), ("crash", "asan heap-buffer-overflow READ"))
        self.assertEqual(r.frames, ["(anonymous namespace)::read_past_end", "LLVMFuzzerTestOneInput"])

    def test_timeout_frames_skip_the_runtime(self):
        r = crash_report.parse(TIMEOUT, ROOT)
        self.assertEqual(r.kind, "timeout")
        self.assertEqual(r.frames, ["(anonymous namespace)::spin_forever", "LLVMFuzzerTestOneInput"])

    def test_aborts_differ_by_message_with_numbers_blanked(self):
        a = crash_report.parse(abort_log("op 12: read_u64 0x80001000"), ROOT)
        b = crash_report.parse(abort_log("op 7: read_u64 0x90000000"), ROOT)
        c = crash_report.parse(abort_log("op 7: write_u32 0x90000000 <- 5"), ROOT)
        self.assertEqual(a.detail, "abort")
        self.assertEqual(a.frames, ["LLVMFuzzerTestOneInput"])
        self.assertIn("GuestMemory disagrees with the model", a.message)
        self.assertEqual(a.ident(), b.ident())
        self.assertNotEqual(a.ident(), c.ident())

    def test_ubsan_leak_and_oom(self):
        ubsan = ("/repo/src/x.cc:3:5: runtime error: signed integer overflow: 2147483647 + 1"
                 " cannot be represented in type 'int'\n    #0 0x1 in f() /repo/src/x.cc:3:5\n")
        r = crash_report.parse(ubsan, ROOT)
        self.assertEqual(r.kind, "crash")
        self.assertEqual(r.detail, "ubsan signed integer overflow: N + N cannot be represented in"
                                   " type 'int'")
        self.assertEqual(r.frames, ["f"])
        leak = ("==1==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 8 byte(s):\n"
                "    #0 0x1 in malloc (/b/t+0x1)\n    #1 0x2 in g() /repo/src/y.cc:1:1\n")
        self.assertEqual(crash_report.parse(leak, ROOT).frames, ["g"])  # where it was allocated
        rss = "==1== ERROR: libFuzzer: out-of-memory (used: 3000Mb; exceeds: 2560Mb)\n"
        r = crash_report.parse(rss, ROOT)
        self.assertEqual((r.kind, r.detail, r.frames), ("oom", "oom rss", []))
        self.assertIsNone(crash_report.parse("INFO: Done 100 runs in 1 second(s)\n", ROOT))

    def test_function_names_lose_their_parameters_only(self):
        f = crash_report.function_name
        self.assertEqual(f("ns::C::f(int, std::span<char>) const"), "ns::C::f")
        self.assertEqual(f("(anonymous namespace)::g()"), "(anonymous namespace)::g")
        self.assertEqual(f("run<A>(B)::{lambda(int)#1}::operator()(int) const"),
                         "run<A>(B)::{lambda(int)#1}::operator()")
        self.assertEqual(f("LLVMFuzzerTestOneInput"), "LLVMFuzzerTestOneInput")


if __name__ == "__main__":
    unittest.main()
