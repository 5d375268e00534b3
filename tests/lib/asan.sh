# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sanitizer settings of every ASan/UBSan tier (sourced). Stack-use-after-return detection is on:
# a pointer to a returned function's local (the rules path of klt_cli_load_rules once) reads
# garbage without it and is reported with it.
KLT_ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1
export ASAN_OPTIONS=${KLT_ASAN_EXTRA:+$KLT_ASAN_EXTRA:}$KLT_ASAN_OPTIONS
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
