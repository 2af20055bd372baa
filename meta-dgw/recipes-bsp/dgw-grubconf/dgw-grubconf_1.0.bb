# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.mandatoryvar.SRC_URI,oelint.var.suggestedvar.BUGTRACKER,oelint.var.suggestedvar.CVE_PRODUCT,oelint.var.bbclassextend
# dgw has no public home page or tracker and is no CVE product; this recipe
# has no sources of its own (its inputs are staged and deployed by dgw and
# grub-efi) and makes sense for the target only.
SUMMARY = "GRUB configuration and EFI system partition for the dgw A/B disk"
DESCRIPTION = "Packages the dgw GRUB configuration (the workspace's \
               system/boot/grub.cfg, staged by the dgw recipe) as \
               virtual-grub-bootconf, and deploys dgw-esp.vfat, the EFI system \
               partition of the GPT A/B disk: GRUB for UEFI, its modules, that \
               grub.cfg and the initial slot state (slot A good, slot B empty)."
SECTION = "bootloaders"
LICENSE = "Apache-2.0"
# nooelint: oelint.var.licenseremotefile - no sources: the configuration is dgw's (Apache-2.0)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# dgw installs system/boot/grub.cfg in ${datadir}/dgw (one source for the
# Yocto and the development image); grub-efi stages its modules.
DEPENDS += "dgw dosfstools-native grub-efi grub-native mtools-native"
INHIBIT_DEFAULT_DEPS = "1"

S = "${UNPACKDIR}"

# EFIDIR, EFI_FILES_PATH, EFI_BOOT_IMAGE
# nooelint: oelint.file.requirenotfound - in openembedded-core (meta/conf)
require conf/image-uefi.conf

inherit deploy

# The configuration boots /boot/bzImage (or /boot/vmlinuz) on x86 UEFI.
COMPATIBLE_HOST = "(x86_64|i.86).*-linux"
PACKAGE_ARCH = "${MACHINE_ARCH}"

# Size of the EFI system partition image (MiB); wic copies it as it is.
DGW_ESP_SIZE_MB ?= "64"
# Fixed FAT volume id: the same inputs give the same image.
DGW_ESP_VOLUME_ID ?= "d6a00001"
# Where grub.cfg looks for the slot state (relative to the ESP).
DGW_GRUBENV ?= "/EFI/dgw/grubenv"

do_configure[noexec] = "1"

# grub-efi's EFI binary is deployed, not staged.
do_compile[depends] += "grub-efi:do_deploy"
do_compile() {
    esp="${B}/esp"
    rm -rf "$esp" "${B}/dgw-esp.vfat"
    install -d "$esp${EFIDIR}" "$esp$(dirname ${DGW_GRUBENV})"

    install -m 0644 "${DEPLOY_DIR_IMAGE}/grub-efi-${EFI_BOOT_IMAGE}" "$esp${EFIDIR}/${EFI_BOOT_IMAGE}"
    install -m 0644 "${RECIPE_SYSROOT}${datadir}/dgw/grub.cfg" "$esp${EFIDIR}/grub.cfg"
    # GRUB's prefix is ${EFIDIR}: modules the configuration needs beyond the
    # ones built into the EFI binary (regexp, echo, terminal...) load from
    # there, as after grub-install.
    for moddir in "${RECIPE_SYSROOT}${libdir}"/grub/*-efi; do
        install -d "$esp${EFIDIR}/$(basename "$moddir")"
        install -m 0644 "$moddir"/*.mod "$moddir"/*.lst "$esp${EFIDIR}/$(basename "$moddir")/"
    done

    # Initial slot state, RAUC grub back-end style: A is installed and good,
    # B is empty until the first update.
    grub-editenv "$esp${DGW_GRUBENV}" create
    grub-editenv "$esp${DGW_GRUBENV}" set "ORDER=A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0

    find "$esp" -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +
    mkfs.vfat -F 32 -s 1 -S 512 -n ESP -i ${DGW_ESP_VOLUME_ID} -C "${B}/dgw-esp.vfat" $(expr ${DGW_ESP_SIZE_MB} \* 1024)
    MTOOLS_SKIP_CHECK=1 mcopy -i "${B}/dgw-esp.vfat" -s -p -m "$esp"/* ::/
}

do_install() {
    # For images that install grub-efi itself (MACHINE_FEATURES "efi"):
    # its RDEPENDS on virtual-grub-bootconf gets this configuration (with
    # DISTRO_FEATURES "dgw", see RPROVIDES).
    install -d ${D}${EFI_FILES_PATH}
    install -m 0644 ${B}/esp${EFIDIR}/grub.cfg ${D}${EFI_FILES_PATH}/grub.cfg
}

do_deploy() {
    install -m 0644 ${B}/dgw-esp.vfat ${DEPLOYDIR}/dgw-esp.vfat
    install -m 0644 ${B}/esp${DGW_GRUBENV} ${DEPLOYDIR}/dgw-grubenv
}
addtask deploy after do_compile before do_build

FILES:${PN} += "${EFI_FILES_PATH}/grub.cfg"

# Only when the distro opts in (DISTRO_FEATURES "dgw"): an unconditional
# provider would change grub-efi's runtime dependencies, and so its task
# signatures, in every build that merely adds the layer.
RPROVIDES:${PN} += "${@bb.utils.contains('DISTRO_FEATURES', 'dgw', 'virtual-grub-bootconf', '', d)}"
