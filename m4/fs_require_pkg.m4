# FS_REQUIRE_PKG(VARIABLE-PREFIX, MODULE, DEBIAN-PACKAGE)
# Like PKG_CHECK_MODULES, but instead of stopping at the first missing module it
# appends "MODULE: install DEBIAN-PACKAGE" to $missing, so configure reports every
# missing dependency in one run.
AC_DEFUN([FS_REQUIRE_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [missing="$missing
  $2: install $3"])
])
