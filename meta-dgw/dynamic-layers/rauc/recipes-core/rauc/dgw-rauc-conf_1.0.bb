# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.suggestedvar.BUGTRACKER,oelint.var.suggestedvar.CVE_PRODUCT,oelint.var.bbclassextend
# dgw has no public home page or tracker and is no CVE product; a target
# configuration has no native or SDK variant.
SUMMARY = "RAUC system configuration for the dgw A/B disk"
DESCRIPTION = "RAUC's system.conf for the dgw GPT layout (root_a/root_b \
               slots, GRUB environment on the ESP, slot status on the data \
               partition) and the keyring that verifies update bundles. \
               Replaces meta-rauc's example rauc-conf (both provide \
               virtual-rauc-conf)."
SECTION = "base"
LICENSE = "Apache-2.0"
# nooelint: oelint.var.licenseremotefile - the only source is this layer's system.conf (Apache-2.0)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

SRC_URI = "file://system.conf \
           ${@'file://' + d.getVar('DGW_RAUC_KEYRING') if d.getVar('DGW_RAUC_KEYRING') else ''}"

S = "${UNPACKDIR}"

INHIBIT_DEFAULT_DEPS = "1"
PACKAGE_ARCH = "${MACHINE_ARCH}"

# The CA certificate(s) that sign update bundles: the absolute path of a PEM
# file. Set it in local.conf (or the kas file): the product's signing CA
# belongs to the product, not to this layer. Without it the image boots but
# refuses every bundle.
DGW_RAUC_KEYRING ?= ""
# Bundles built for another product are refused.
DGW_RAUC_COMPATIBLE ?= "dgw-${MACHINE}"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    install -d ${D}${nonarch_libdir}/rauc
    sed -e 's/@COMPATIBLE@/${DGW_RAUC_COMPATIBLE}/' ${S}/system.conf > ${D}${nonarch_libdir}/rauc/system.conf
    chmod 0644 ${D}${nonarch_libdir}/rauc/system.conf
    if [ -n "${DGW_RAUC_KEYRING}" ]; then
        install -m 0644 ${S}${DGW_RAUC_KEYRING} ${D}${nonarch_libdir}/rauc/keyring.pem
    else
        bbwarn "DGW_RAUC_KEYRING is not set: the image has no RAUC keyring and will refuse every update bundle"
    fi
}

FILES:${PN} += "${nonarch_libdir}/rauc"

# Only when the distro opts in (DISTRO_FEATURES "dgw"), so that adding the
# layer does not change rauc's runtime dependencies; dgw-image installs this
# package explicitly and excludes rauc-conf either way.
RPROVIDES:${PN} += "${@bb.utils.contains('DISTRO_FEATURES', 'dgw', 'virtual-rauc-conf', '', d)}"
RCONFLICTS:${PN} += "rauc-conf"
