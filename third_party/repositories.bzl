"""Repositories for nftcim, all made from Debian packages on this machine.

Bazel 4.2.3 (Debian's bazel-bootstrap) would otherwise try to download
@rules_cc, @rules_java and @remote_coverage_tools; this file satisfies each of
them locally, and wraps the system libraries (Eigen, Abseil, protobuf,
googletest, Google Benchmark, zlib) as ordinary cc_library targets.
"""

_RULES_CC_DIR = "/usr/share/bazel/rules/cc"
_RULES_JAVA_DIR = "/usr/share/bazel/rules/java"

# Debian's rules_cc 0.0.4 loads use_cpp_toolchain(), which Bazel 4.2.3's
# @bazel_tools lacks. Those two files only need the toolchain type label.
_RULES_CC_PATCHED = [
    "cc/private/rules_impl/compiler_flag.bzl",
    "cc/private/rules_impl/cc_flags_supplier.bzl",
]

def _missing(ctx, what, package):
    fail("nftcim: %s not found; install the Debian package '%s' (run tools/setup.sh)" % (what, package))

def _debian_rules_cc_impl(ctx):
    src = ctx.path(_RULES_CC_DIR)
    if not src.exists:
        _missing(ctx, _RULES_CC_DIR, "bazel-rules-cc")
    res = ctx.execute(["cp", "-r", str(src) + "/.", "."])
    if res.return_code != 0:
        fail("nftcim: copying rules_cc failed: " + res.stderr)
    for f in _RULES_CC_PATCHED:
        text = ctx.read(f)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        ctx.file(f, text, executable = False)

    # The copied WORKSPACE downloads rules_cc's own development dependencies.
    ctx.file("WORKSPACE", 'workspace(name = "rules_cc")\n')

debian_rules_cc = repository_rule(implementation = _debian_rules_cc_impl)

def _pkg_config_libs(ctx, modules, package):
    res = ctx.execute(["pkg-config", "--libs"] + modules)
    if res.return_code != 0:
        fail("nftcim: pkg-config could not find %s; install '%s' (run tools/setup.sh): %s" %
             (" ".join(modules), package, res.stderr))
    return [f for f in res.stdout.strip().split(" ") if f]

_ABSL_MODULES = [
    "absl_flags",
    "absl_flags_parse",
    "absl_flags_usage",
    "absl_flat_hash_map",
    "absl_hash",
    "absl_status",
    "absl_statusor",
    "absl_str_format",
    "absl_strings",
    "absl_synchronization",
    "absl_time",
]

def _system_absl_impl(ctx):
    if not ctx.path("/usr/include/absl/status/status.h").exists:
        _missing(ctx, "Abseil headers", "libabsl-dev")
    ctx.symlink("/usr/include/absl", "absl")
    linkopts = _pkg_config_libs(ctx, _ABSL_MODULES, "libabsl-dev")
    ctx.file("WORKSPACE", 'workspace(name = "com_google_absl")\n')
    ctx.file("BUILD", """
package(default_visibility = ["//visibility:public"])

# Headers are listed so that sandboxed compiles see them; the libraries are
# Debian's shared Abseil (libabsl-dev), linked through pkg-config's flags.
cc_library(
    name = "absl",
    hdrs = glob(["absl/**/*.h", "absl/**/*.inc"]),
    includes = ["."],
    linkopts = %s,
)
""" % repr(linkopts))

system_absl = repository_rule(implementation = _system_absl_impl, local = True)

def _check_file(ctx, path, package):
    if not ctx.path(path).exists:
        _missing(ctx, path, package)

def nftcim_system_repositories():
    """Declares every external repository the build uses."""
    debian_rules_cc(name = "rules_cc")
    native.local_repository(name = "rules_java", path = _RULES_JAVA_DIR)
    native.local_repository(
        name = "remote_coverage_tools",
        path = "third_party/remote_coverage_tools",
    )
    system_absl(name = "com_google_absl")
    native.new_local_repository(
        name = "eigen",
        path = "/usr/include/eigen3",
        build_file = "@//third_party:eigen.BUILD",
    )
    native.new_local_repository(
        name = "com_google_protobuf",
        path = "/usr",
        build_file = "@//third_party:protobuf.BUILD",
    )
    native.new_local_repository(
        name = "com_google_googletest",
        path = "/usr",
        build_file = "@//third_party:googletest.BUILD",
    )
    native.new_local_repository(
        name = "com_github_google_benchmark",
        path = "/usr",
        build_file = "@//third_party:benchmark.BUILD",
    )
    native.new_local_repository(
        name = "zlib",
        path = "/usr",
        build_file = "@//third_party:zlib.BUILD",
    )
