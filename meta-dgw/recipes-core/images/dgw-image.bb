# nooelint: oelint.var.suggestedvar.BUGTRACKER,oelint.var.suggestedvar.CVE_PRODUCT
# dgw has no public tracker yet; an image is no CVE product.
SUMMARY = "dgw secure VoIP gateway image (systemd, D-Bus, A/B disk)"
DESCRIPTION = "A bootable dgw unit: systemd and D-Bus, the dgw services \
               (confd, hostd, sipd, cwmpd) and wpa_supplicant for 802.1X on \
               a GPT disk with an EFI system partition, root A, root B and \
               data (files/wic/dgw-ab.wks.in); RAUC for A/B updates when \
               meta-rauc is in the build."
SECTION = "images"
LICENSE = "MIT"

inherit core-image features_check

# dgw's units and policies are systemd and D-Bus ones.
REQUIRED_DISTRO_FEATURES = "systemd"

# kernel-image: each slot carries its kernel in /boot (GRUB loads it from the
# slot it boots). grub-editenv: the slot state in GRUB's environment block
# (dgw-boot-ok, RAUC's grub back-end). No login service beyond the console:
# development access (ssh-server-dropbear, allow-root-login,
# empty-root-password) comes from EXTRA_IMAGE_FEATURES in local.conf for lab
# units, as in the kas file.
IMAGE_INSTALL = "packagegroup-core-boot \
                 ${CORE_IMAGE_EXTRA_INSTALL} \
                 ca-certificates \
                 dbus \
                 dgw \
                 grub-editenv \
                 kernel-image \
                 wpa-supplicant"
# With meta-rauc in the build, dynamic-layers/rauc adds RAUC (see README.md).

# The disk: EFI system partition, root A, root B, data (see the .wks.in).
IMAGE_FSTYPES = "wic ext4"
WKS_FILE = "dgw-ab.wks.in"
DGW_ROOTFS_SIZE ?= "512M"
DGW_DATA_SIZE ?= "256M"
do_image_wic[depends] += "dgw-grubconf:do_deploy"
# The ext4 image is what a RAUC bundle carries to the other slot: 4K-aligned,
# 4K blocks and a fixed directory hash seed, so that two builds of the same
# content differ little (adaptive updates).
IMAGE_ROOTFS_ALIGNMENT = "4"
# nooelint: oelint.vars.specific - ext4 is an image type override (IMAGE_FSTYPES)
EXTRA_IMAGECMD:ext4 = "-i 4096 -b 4096 -E hash_seed=9a6d4c0e-5d1b-4e43-9e33-3b1f1f7a0d21"

# runqemu boots the .wic with UEFI firmware: runqemu dgw-image wic ovmf.
EXTRA_IMAGEDEPENDS:append:qemuall = " ovmf"
QB_DEFAULT_FSTYPE:qemuall = "wic"

ROOTFS_POSTPROCESS_COMMAND += "dgw_fstab dgw_no_timesyncd"

# The mounts belong to the root file system itself, not to wic, so slot B,
# installed by RAUC from the ext4 image, mounts the ESP and the data
# partition as slot A does. nofail on the ESP: a unit whose ESP cannot be
# mounted still comes up.
dgw_fstab[doc] = "Mount the ESP and the data partition by GPT partition name"
dgw_fstab() {
    printf '%s\n' \
        '# dgw A/B disk (files/wic/dgw-ab.wks.in)' \
        'PARTLABEL=esp   /boot/efi     vfat  umask=0077,noatime,nofail  0  2' \
        "PARTLABEL=data  ${localstatedir}/lib/dgw  ext4  noatime,nodev,nosuid  0  2" \
        >> ${IMAGE_ROOTFS}${sysconfdir}/fstab
    install -d ${IMAGE_ROOTFS}/boot/efi ${IMAGE_ROOTFS}${localstatedir}/lib/dgw
}

# dgw hostd owns the clock (NTP with the DGW's server list and DHCP option
# 42, the gate of TLS validation): systemd-timesyncd must not fight it.
dgw_no_timesyncd[doc] = "Mask systemd-timesyncd: dgw hostd sets the clock"
dgw_no_timesyncd() {
    install -d ${IMAGE_ROOTFS}${sysconfdir}/systemd/system
    ln -sf /dev/null ${IMAGE_ROOTFS}${sysconfdir}/systemd/system/systemd-timesyncd.service
}
