//! `rollout dashboard`: writes (creates or replaces) a CloudWatch dashboard of one alias.

use rollout_aws::places::AwsPlaces;
use rollout_aws::Adapters;
use rollout_core::dashboard::{
    dashboard_body, default_dashboard_name, DashboardInput, SetMemberLine,
};
use rollout_core::validate::{check_alias, check_function_name, short_function_name};
use rollout_core::{AliasState, InvalidField};
use rollout_usecases::driver::DriveError;
use rollout_usecases::patience::Patience;
use rollout_usecases::ports::{AlarmCatalog, AliasStore, CallFailed, Dashboards, Places};
use rollout_usecases::set::ring;
use serde_json::json;

use crate::args::{as_flags, DashboardArgs, Global, Output};
use crate::exit::{CommandError, PROMOTED};

pub async fn dashboard(args: &DashboardArgs, global: &Global) -> Result<i32, CommandError> {
    check_function_name(&args.function).map_err(as_flags)?;
    check_alias(&args.alias).map_err(as_flags)?;
    let name = match &args.name {
        Some(name) => check_dashboard_name(name)?,
        None => default_dashboard_name(&args.function, &args.alias),
    };
    let config = crate::aws::config(global).await?;
    // `config` refuses a missing region before any call.
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let adapters = Adapters::new(&config);
    let places = AwsPlaces::new(&adapters, &config);
    let ports = DashboardPorts {
        aliases: &adapters.aliases,
        alarms: &adapters.alarms,
        dashboards: &adapters.dashboards,
        places: &places,
    };
    write_dashboard(args, &name, &region, &ports, global.output).await
}

/// What `rollout dashboard` reads and writes, each through its port: the alias, the alarms
/// that watch it, and the dashboards.
pub struct DashboardPorts<'a> {
    pub aliases: &'a dyn AliasStore,
    pub alarms: &'a dyn AlarmCatalog,
    pub dashboards: &'a dyn Dashboards,
    /// Where the members of a release set the alias belongs to are.
    pub places: &'a dyn Places,
}

/// Builds the dashboard of the alias in `region` from what `ports` read, writes it as `name`
/// and says where to see it.
async fn write_dashboard(
    args: &DashboardArgs,
    name: &str,
    region: &str,
    ports: &DashboardPorts<'_>,
    output: Output,
) -> Result<i32, CommandError> {
    let alias = ports
        .aliases
        .get(&args.function, &args.alias)
        .await
        .map_err(DriveError::from)?;
    let function = short_function_name(&args.function);
    let mut alarms = ports.alarms.watching(function, &args.alias).await?;
    for (alarm, arn) in ports.alarms.arns(&args.alarms).await? {
        let arn =
            arn.ok_or_else(|| InvalidField::new("--alarm", format!("{alarm:?} does not exist")))?;
        if !alarms.iter().any(|(n, _)| *n == alarm) {
            alarms.push((alarm, arn));
        }
    }
    let versions = versions_of(&alias);
    let set = set_lines(ports.places, &args.function, &args.alias, &alias).await?;
    let body = dashboard_body(&DashboardInput {
        set: set.clone(),
        function: function.to_string(),
        alias: args.alias.clone(),
        versions: versions.clone(),
        alarm_arns: alarms.iter().map(|(_, arn)| arn.clone()).collect(),
        region: region.to_string(),
    });
    let problems = ports.dashboards.put(name, &body.to_string()).await?;
    if !problems.is_empty() {
        return Err(CommandError::Runtime(format!(
            "CloudWatch found problems in dashboard {name}: {}",
            problems.join("; ")
        )));
    }
    let names: Vec<&str> = alarms.iter().map(|(n, _)| n.as_str()).collect();
    let url = format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards:name={name}"
    );
    match output {
        Output::Json => out!(
            "{:#}",
            json!({"dashboardName": name, "region": region, "versions": versions,
                   "alarms": names, "url": url,
                   "set": set.as_ref().map(|(name, _)| name)})
        ),
        Output::Text => {
            out!(
                "dashboard {name} written (versions {})",
                versions.join(", ")
            );
            match names.is_empty() {
                true => out!("alarms: none found (none names {function}:{} in its dimensions; add --alarm NAME)", args.alias),
                false => out!("alarms: {}", names.join(", ")),
            }
            out!("{url}");
        }
    }
    Ok(PROMOTED)
}

/// When the alias is a member of a release set: the set's name and every member its ring
/// reaches, for the traffic widget's one line per member.
async fn set_lines(
    places: &dyn Places,
    function: &str,
    alias_name: &str,
    alias: &AliasState,
) -> Result<Option<(String, Vec<SetMemberLine>)>, CommandError> {
    let found = ring::walk_from(
        places,
        &Patience::default(),
        function,
        alias_name,
        alias.clone(),
    )
    .await
    .map_err(DriveError::from)?;
    Ok(found.map(|set| {
        let home = places.home_region();
        let lines = set
            .members
            .iter()
            .map(|m| SetMemberLine {
                function: short_function_name(&m.spec.function_name).to_string(),
                alias: m.spec.alias.clone(),
                region: m.spec.region_or(home.as_deref()),
            })
            .collect();
        (set.name, lines)
    }))
}

/// The versions a rollout of this alias involves: those its marker records, otherwise the
/// alias's own (and the one it routes to).
pub fn versions_of(alias: &AliasState) -> Vec<String> {
    let mut versions = match alias.marker() {
        Some(m) => vec![m.from_version, m.to_version],
        None => vec![alias.version.clone()],
    };
    if let Some((routed, _)) = &alias.routing {
        versions.push(routed.clone());
    }
    let mut seen = Vec::new();
    versions.retain(|v| {
        let new = !seen.contains(v);
        seen.push(v.clone());
        new
    });
    versions
}

/// The names of the alarms that watch `function:alias`, then those named with `--alarm` that
/// are not among them: the alarms `report` and `status --watch` show.
pub async fn alarm_names(
    alarms: &dyn AlarmCatalog,
    function: &str,
    alias: &str,
    named: &[String],
) -> Result<Vec<String>, CallFailed> {
    let mut names: Vec<String> = alarms
        .watching(function, alias)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for name in named {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    Ok(names)
}

/// CloudWatch's rule for dashboard names.
fn check_dashboard_name(name: &str) -> Result<String, InvalidField> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    match !name.is_empty() && name.len() <= 255 && name.chars().all(allowed) {
        true => Ok(name.to_string()),
        false => Err(InvalidField::new(
            "--name",
            format!("{name:?} must be 1 to 255 of A-Z, a-z, 0-9, - and _"),
        )),
    }
}
