//! The ACS's parameter RPCs executed on a configuration held in the agent
//! ([`LocalRpc`]): the data model decides, the configuration changes all
//! or nothing, the agent state (ParameterKey, instance numbers, attributes)
//! follows only what was applied.
//!
//! On the unit the same plans go to confd (`ApplyScript`, all or nothing)
//! instead of an in-process [`params::Config`]; this implementation is the
//! offline one (`dgw cwmpd --store`), and what the agent's tests run.
//! Methods it does not execute (Download, Upload, Reboot, FactoryReset,
//! ScheduleInform: the daemon's) are answered 9000.

use cwmp::{Body, Envelope, Fault, FaultCode, ParameterValue};
use params::Config;

use crate::datamodel::{DataModel, Plan, Runtime, State};
use crate::session::Rpc;

/// The RPC methods a [`LocalRpc`] executes, for GetRPCMethods.
pub const METHODS: &[&str] = &[
    "GetRPCMethods",
    "GetParameterNames",
    "GetParameterValues",
    "SetParameterValues",
    "GetParameterAttributes",
    "SetParameterAttributes",
    "AddObject",
    "DeleteObject",
];

/// Where applied plans go besides the in-process copy: on the unit,
/// confd (`ApplyScript`, all or nothing), so the change is durable and the
/// services see it.
pub trait ConfigSink: Send {
    /// Applies a configuration script all or nothing. The script holds
    /// passwords in clear: never log it.
    fn apply(&mut self, script: &str) -> Result<(), String>;
}

/// Reloads the configuration and the runtime facts (`None`: keep what is held).
pub type Refresh = Box<dyn FnMut() -> Option<(Config, Runtime)> + Send>;

/// RPCs over an in-process configuration.
pub struct LocalRpc {
    /// Where plans are applied first (confd); `None`: only in-process.
    pub sink: Option<Box<dyn ConfigSink>>,
    /// Reloads the configuration (and status) at the start of each session,
    /// so the ACS sees what `dgw ctl` or the web UI changed in between.
    pub refresh: Option<Refresh>,
    /// Where the data model's state (ParameterKey, instance numbers,
    /// attributes) is saved after each change; `None`: kept in memory.
    pub state_path: Option<std::path::PathBuf>,
    /// The configuration.
    pub config: Config,
    /// Device identity and status.
    pub runtime: Runtime,
    /// ParameterKey, instance numbers, attributes.
    pub state: State,
    /// Names that changed since the last Inform (active and passive
    /// notification); shared with whoever watches the configuration.
    pub changed: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LocalRpc {
    /// Over `config`, with the state brought in line with it.
    pub fn new(config: Config, runtime: Runtime, mut state: State) -> LocalRpc {
        state.reconcile(&config, &runtime);
        LocalRpc {
            sink: None,
            refresh: None,
            state_path: None,
            config,
            runtime,
            state,
            changed: Default::default(),
        }
    }

    fn apply(&mut self, plan: Plan) -> Result<cwmp::Status, Fault> {
        if !plan.changes.is_empty() {
            if let Some(sink) = self.sink.as_mut() {
                sink.apply(&plan.script()).map_err(|e| {
                    // E.g. the configuration changed under us: nothing was
                    // applied, the ParameterKey stays (TR-069 9002).
                    log::warn!(target: "cwmpd", "applying the ACS's changes: {e}");
                    Fault::new(FaultCode::INTERNAL_ERROR)
                })?;
            }
            let applied = plan.apply(&self.config).map_err(|errors| {
                // The model dry-runs every plan, so this is a race or a bug:
                // say so without quoting values (they may be secrets).
                log::error!(target: "cwmpd", "a checked plan did not apply ({} errors)", errors.len());
                Fault::new(FaultCode::INTERNAL_ERROR)
            })?;
            self.config = applied.config;
        }
        let status = plan.status;
        self.state = plan.state;
        self.state.reconcile(&self.config, &self.runtime);
        self.save_state();
        Ok(status)
    }

    fn save_state(&self) {
        if let Some(p) = &self.state_path {
            if let Err(e) = self.state.save(p) {
                log::error!(target: "cwmpd", "saving the data model state to {}: {e}", p.display());
            }
        }
    }

    fn execute(&mut self, body: &Body) -> Result<Body, Fault> {
        let model = DataModel::new(&self.config, &self.runtime, &self.state);
        Ok(match body {
            Body::GetRpcMethods => {
                Body::GetRpcMethodsResponse(METHODS.iter().map(|m| m.to_string()).collect())
            }
            Body::GetParameterNames {
                parameter_path,
                next_level,
            } => Body::GetParameterNamesResponse(model.get_parameter_names(parameter_path, *next_level)?),
            Body::GetParameterValues(names) => {
                Body::GetParameterValuesResponse(model.get_parameter_values(names)?)
            }
            Body::GetParameterAttributes(names) => {
                Body::GetParameterAttributesResponse(model.get_parameter_attributes(names)?)
            }
            Body::SetParameterValues {
                parameters,
                parameter_key,
            } => {
                let plan = model.set_parameter_values(parameters, parameter_key)?;
                Body::SetParameterValuesResponse(self.apply(plan)?)
            }
            Body::SetParameterAttributes(list) => {
                self.state = model.set_parameter_attributes(list)?;
                self.save_state();
                Body::SetParameterAttributesResponse
            }
            Body::AddObject {
                object_name,
                parameter_key,
            } => {
                let added = model.add_object(object_name, parameter_key)?;
                let instance_number = added.instance_number;
                let status = self.apply(added.plan)?;
                Body::AddObjectResponse {
                    instance_number,
                    status,
                }
            }
            Body::DeleteObject {
                object_name,
                parameter_key,
            } => {
                let plan = model.delete_object(object_name, parameter_key)?;
                Body::DeleteObjectResponse(self.apply(plan)?)
            }
            _ => return Err(Fault::new(FaultCode::METHOD_NOT_SUPPORTED)),
        })
    }
}

impl Rpc for LocalRpc {
    fn inform_parameters(&mut self) -> Vec<ParameterValue> {
        if let Some(refresh) = self.refresh.as_mut() {
            if let Some((config, runtime)) = refresh() {
                self.config = config;
                self.runtime = runtime;
                if self.state.reconcile(&self.config, &self.runtime) {
                    self.save_state();
                }
            }
        }
        let mut changed = std::mem::take(&mut *self.changed.lock().unwrap_or_else(|p| p.into_inner()));
        changed.sort();
        changed.dedup();
        DataModel::new(&self.config, &self.runtime, &self.state).inform_parameters(&changed)
    }

    async fn handle(&mut self, request: &Envelope) -> Body {
        match self.execute(&request.body) {
            Ok(b) => b,
            Err(f) => Body::Fault(f),
        }
    }
}
