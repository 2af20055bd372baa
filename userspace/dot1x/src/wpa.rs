//! The part of wpa_supplicant's D-Bus API (`fi.w1.wpa_supplicant1`, hostap
//! `doc/dbus.doxygen`) that wired 802.1X needs.
//!
//! Proxies are built without the property cache: we read properties right
//! after changing things, and wpa_supplicant sends its PropertiesChanged
//! signals with a delay, so a cache could answer with stale values.

use std::collections::HashMap;

use zbus::proxy::CacheProperties;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};
use zbus::Connection;

/// The well-known bus name.
pub(crate) const SERVICE: &str = "fi.w1.wpa_supplicant1";
/// The root object.
pub(crate) const ROOT_PATH: &str = "/fi/w1/wpa_supplicant1";
/// The interface (link) D-Bus interface.
pub(crate) const IFACE_INTERFACE: &str = "fi.w1.wpa_supplicant1.Interface";
/// The error GetInterface answers for an unknown link.
pub(crate) const INTERFACE_UNKNOWN: &str = "fi.w1.wpa_supplicant1.InterfaceUnknown";
/// The error RemoveNetwork answers for an unknown network.
pub(crate) const NETWORK_UNKNOWN: &str = "fi.w1.wpa_supplicant1.NetworkUnknown";

/// The root object: interfaces (links) are created and looked up here.
#[zbus::proxy(
    interface = "fi.w1.wpa_supplicant1",
    default_service = "fi.w1.wpa_supplicant1",
    default_path = "/fi/w1/wpa_supplicant1",
    gen_blocking = false
)]
pub(crate) trait Supplicant {
    /// `CreateInterface({Ifname, Driver, ...})`.
    fn create_interface(&self, args: HashMap<&str, Value<'_>>) -> zbus::Result<OwnedObjectPath>;

    /// `GetInterface(ifname)`; fails with `InterfaceUnknown`.
    fn get_interface(&self, ifname: &str) -> zbus::Result<OwnedObjectPath>;

    /// `RemoveInterface(path)`.
    fn remove_interface(&self, path: &ObjectPath<'_>) -> zbus::Result<()>;
}

/// One interface (link).
#[zbus::proxy(
    interface = "fi.w1.wpa_supplicant1.Interface",
    default_service = "fi.w1.wpa_supplicant1",
    gen_blocking = false
)]
pub(crate) trait Interface {
    /// `AddNetwork(a{sv})`: the keys are those of a `network={}` block.
    fn add_network(&self, args: HashMap<&str, Value<'_>>) -> zbus::Result<OwnedObjectPath>;

    /// `RemoveNetwork(o)`.
    fn remove_network(&self, path: &ObjectPath<'_>) -> zbus::Result<()>;

    /// `EAPLogon()`: undoes an `EAPLogoff` someone else may have made.
    #[zbus(name = "EAPLogon")]
    fn eap_logon(&self) -> zbus::Result<()>;

    /// The wpa_state, lower case ("associated", "completed"...).
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;

    /// The driver the interface was created with.
    #[zbus(property)]
    fn driver(&self) -> zbus::Result<String>;

    /// `ap_scan`: 0 for wired links.
    #[zbus(property)]
    fn ap_scan(&self) -> zbus::Result<u32>;

    /// Sets `ap_scan`.
    #[zbus(property)]
    fn set_ap_scan(&self, value: u32) -> zbus::Result<()>;

    /// `eapol_version` ("1" or "2").
    #[zbus(property)]
    fn eapol_version(&self) -> zbus::Result<String>;

    /// Sets `eapol_version`.
    #[zbus(property)]
    fn set_eapol_version(&self, value: &str) -> zbus::Result<()>;

    /// The configured networks.
    #[zbus(property)]
    fn networks(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
}

/// One configured network.
#[zbus::proxy(
    interface = "fi.w1.wpa_supplicant1.Network",
    default_service = "fi.w1.wpa_supplicant1",
    gen_blocking = false
)]
pub(crate) trait Network {
    /// The `network={}` fields, as wpa_supplicant prints them (strings
    /// quoted).
    #[zbus(property)]
    fn properties(&self) -> zbus::Result<HashMap<String, OwnedValue>>;
}

pub(crate) async fn supplicant(conn: &Connection) -> zbus::Result<SupplicantProxy<'static>> {
    SupplicantProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await
}

pub(crate) async fn interface(
    conn: &Connection,
    path: &OwnedObjectPath,
) -> zbus::Result<InterfaceProxy<'static>> {
    InterfaceProxy::builder(conn)
        .path(path.clone())?
        .cache_properties(CacheProperties::No)
        .build()
        .await
}

pub(crate) async fn network(
    conn: &Connection,
    path: &OwnedObjectPath,
) -> zbus::Result<NetworkProxy<'static>> {
    NetworkProxy::builder(conn)
        .path(path.clone())?
        .cache_properties(CacheProperties::No)
        .build()
        .await
}

/// Whether a zbus error is the D-Bus error `name`.
pub(crate) fn is_error(e: &zbus::Error, name: &str) -> bool {
    matches!(e, zbus::Error::MethodError(n, _, _) if n.as_str() == name)
}

/// A network's field as a plain string: wpa_supplicant quotes string
/// fields (`"dgw-dot1x"`) and not the others.
pub(crate) fn unquoted(v: &OwnedValue) -> Option<String> {
    let s: &str = v.downcast_ref().ok()?;
    let s = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s);
    Some(s.to_string())
}
