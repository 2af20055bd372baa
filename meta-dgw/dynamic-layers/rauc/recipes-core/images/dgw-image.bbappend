# With meta-rauc: the A/B update agent that cwmpd drives over D-Bus
# (de.pengutronix.rauc.Installer) for TR-069 firmware downloads, and its
# configuration for the dgw disk. rauc-mark-good (recommended by rauc) marks
# the booted slot good; dgw-boot-ok.service stands down when rauc is present.
IMAGE_INSTALL:append = " dgw-rauc-conf e2fsprogs-mke2fs rauc"
# meta-rauc's example configuration is replaced by dgw-rauc-conf.
BAD_RECOMMENDATIONS += "rauc-conf"
