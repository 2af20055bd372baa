# The dgw kernel configuration (kernel TLS, LEDs, A/B updates), applied only
# when the distro opts in with DISTRO_FEATURES "dgw": a layer must not change
# other layers' recipes merely by being added (yocto-check-layer's signature
# test), and the kas file in this layer turns the feature on.
require ${@bb.utils.contains('DISTRO_FEATURES', 'dgw', 'linux-yocto-dgw.inc', '', d)}
