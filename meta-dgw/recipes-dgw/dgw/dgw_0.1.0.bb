# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.suggestedvar.BUGTRACKER,oelint.var.suggestedvar.CVE_PRODUCT,oelint.var.bbclassextend
# dgw has no public home page or tracker yet and is no CVE product; the
# gateway's daemons have no native or SDK use.
SUMMARY = "dgw secure VoIP gateway: daemons, CLI, units and D-Bus policies"
DESCRIPTION = "The dgw multi-call binary (dgw confd, hostd, sipd, cwmpd, ctl) \
               built from the Cargo workspace this layer lives in, with the \
               gateway's systemd units, D-Bus policies, sysusers.d, tmpfiles.d \
               and modules-load.d entries, boot and provisioning helpers and \
               provisioning recipes, installed by the workspace's own \
               system/install script, the one the development image uses too."
SECTION = "net"
LICENSE = "Apache-2.0"
# The workspace's LICENSE (Apache-2.0, as its Cargo.toml declares).
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"

# crate:// sources for every crates.io package in Cargo.lock
# (regenerate: meta-dgw/scripts/update-crates-inc, or bitbake -c update_crates dgw)
require ${BPN}-crates.inc

inherit cargo cargo-update-recipe-crates externalsrc systemd useradd

# Source: the dgw checkout this layer sits in (meta-dgw/ is next to the
# workspace's Cargo.toml), built in place with externalsrc. Set DGW_SRC_DIR in
# local.conf to build another checkout, or see README.md ("Building a tagged
# release from git") to fetch a release instead.
DGW_LAYER_PARENT := "${@os.path.normpath(os.path.join(d.getVar('THISDIR'), '..', '..', '..'))}"
DGW_SRC_DIR ??= "${DGW_LAYER_PARENT}"
EXTERNALSRC ?= "${DGW_SRC_DIR}"
# cargo's target directory stays in the work directory, never in the
# developer's checkout; and no oe-workdir/oe-logs links are dropped there.
EXTERNALSRC_BUILD ?= "${WORKDIR}/build"
EXTERNALSRC_SYMLINKS = ""

# Only the dgw binary: the workspace's test and lab crates are not built.
CARGO_BUILD_FLAGS += "-p dgw --bin dgw"

# do_update_crates walks CARGO_LOCK_SRC_DIR for every Cargo.lock: give it the
# one lock file this recipe builds with (not fuzz/Cargo.lock, nor whatever
# lies in target/ or in a build directory inside the checkout).
CARGO_LOCK_SRC_DIR = "${WORKDIR}/update-crates"
do_update_crates[prefuncs] += "dgw_stage_cargo_lock"
do_update_crates[cleandirs] = "${CARGO_LOCK_SRC_DIR}"
dgw_stage_cargo_lock[doc] = "Copy the workspace's Cargo.lock where do_update_crates looks"
python dgw_stage_cargo_lock() {
    import shutil
    shutil.copy(os.path.join(d.getVar('S'), 'Cargo.lock'), d.getVar('CARGO_LOCK_SRC_DIR'))
}

# Fail with a clear message, at build time only, when the checkout is not
# there (the layer was copied away from its workspace): parsing works
# without it.
do_configure[prefuncs] =+ "dgw_check_source"
dgw_check_source[doc] = "Check that the source directory is a dgw workspace"
python dgw_check_source() {
    src = d.getVar('S')
    if not os.path.isfile(os.path.join(src, 'Cargo.toml')) or not os.path.isfile(os.path.join(src, 'system', 'install')):
        bb.fatal("dgw: no dgw workspace in %s (Cargo.toml and system/install expected). "
                 "meta-dgw builds the checkout it lives in: set DGW_SRC_DIR to a dgw checkout, "
                 "or see README.md for building a tagged release from git." % src)
}

do_install:append() {
    # The one source for units, D-Bus policies and default configuration.
    UNITDIR="${systemd_system_unitdir}" \
    DBUSPOLICYDIR="${datadir}/dbus-1/system.d" \
    SYSUSERSDIR="${nonarch_libdir}/sysusers.d" \
    TMPFILESDIR="${nonarch_libdir}/tmpfiles.d" \
    MODULESLOADDIR="${nonarch_libdir}/modules-load.d" \
    LIBEXECDIR="${libexecdir}" \
    SYSCONFDIR="${sysconfdir}" \
    DATADIR="${datadir}" \
        sh ${S}/system/install ${D}
}

PACKAGES =+ "${PN}-dhclient-hooks"

FILES:${PN} += "${datadir}/dbus-1/system.d \
                ${libexecdir}/dgw \
                ${nonarch_libdir}/modules-load.d \
                ${nonarch_libdir}/sysusers.d \
                ${nonarch_libdir}/tmpfiles.d"
# ISC dhclient exit hooks (DHCP options 42 and 43 to hostd and cwmpd), for
# images whose DHCP client is dhclient; oe-core has none (see README.md).
FILES:${PN}-dhclient-hooks += "${sysconfdir}/dhcp"

# dbus: the services' bus and policies; wpa-supplicant: 802.1X through its
# D-Bus API (hostd); tzdata: time zones (hostd); grub-editenv: dgw-boot-ok
# marks the booted slot good in GRUB's environment block.
RDEPENDS:${PN} += "dbus grub-editenv tzdata wpa-supplicant"
# Kernel TLS (CONFIG_TLS=m in the layer's fragment, loaded by modules-load.d).
RRECOMMENDS:${PN} += "kernel-module-tls"

SYSTEMD_SERVICE:${PN} = "dgw-confd.service \
                         dgw-hostd.service \
                         dgw-sipd.service \
                         dgw-cwmpd.service \
                         dgw-provision.service \
                         dgw-boot-ok.service"

# The gateway's configuration group (also in sysusers.d): created in the
# image at build time, so a read-only root file system has it too.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system dgwadmin"
