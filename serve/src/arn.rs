//! The service's ARNs: `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME` and
//! `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`, and the names inside them.

use crate::error::ApiError;

/// The region and account the ARNs are made in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arns {
    /// The region (`us-east-1` by default).
    pub region: String,
    /// The account id (`123456789012` by default).
    pub account: String,
}

impl Default for Arns {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
        }
    }
}

impl Arns {
    fn prefix(&self) -> String {
        format!("arn:aws:states:{}:{}", self.region, self.account)
    }

    /// A state machine's ARN.
    pub fn state_machine(&self, name: &str) -> String {
        format!("{}:stateMachine:{name}", self.prefix())
    }

    /// An execution's ARN.
    pub fn execution(&self, machine: &str, name: &str) -> String {
        format!("{}:execution:{machine}:{name}", self.prefix())
    }

    /// An Express execution's ARN, as StartSyncExecution returns it.
    pub fn express_execution(&self, machine: &str, name: &str) -> String {
        format!(
            "{}:express:{machine}:{name}:{}",
            self.prefix(),
            uuid::Uuid::new_v4()
        )
    }

    /// The machine name in a state machine ARN (`InvalidArn` if it is not one).
    pub fn machine_name<'a>(&self, arn: &'a str) -> Result<&'a str, ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", "aws", "states", _, _, "stateMachine", name] if !name.is_empty() => Ok(name),
            ["arn", "aws", "states", _, _, "stateMachine", name, _version] if !name.is_empty() => {
                Ok(name)
            }
            _ => Err(invalid(arn)),
        }
    }

    /// Checks that `arn` is an execution ARN (`InvalidArn` if not).
    pub fn check_execution<'a>(&self, arn: &'a str) -> Result<&'a str, ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", "aws", "states", _, _, "execution", machine, name]
                if !machine.is_empty() && !name.is_empty() =>
            {
                Ok(arn)
            }
            _ => Err(invalid(arn)),
        }
    }
}

fn invalid(arn: &str) -> ApiError {
    ApiError::invalid_arn(format!(
        "Invalid Arn: 'Resource type not valid in this context: {arn}'"
    ))
}

/// Checks a state machine or execution name against the service's rules: 1 to 80 characters,
/// no whitespace, brackets, wildcards, control characters or any of `"#%\^|~`$&,;:/`.
pub fn check_name(name: &str, max: usize) -> Result<(), ApiError> {
    let bad = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
    };
    if name.is_empty() || name.chars().count() > max || name.chars().any(bad) {
        return Err(ApiError::invalid_name(format!("Invalid Name: '{name}'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip_and_bad_ones_are_invalid_arn() {
        let arns = Arns::default();
        let machine = arns.state_machine("weather");
        assert_eq!(
            machine,
            "arn:aws:states:us-east-1:123456789012:stateMachine:weather"
        );
        assert_eq!(arns.machine_name(&machine).unwrap(), "weather");
        let execution = arns.execution("weather", "run-1");
        assert!(arns.check_execution(&execution).is_ok());
        assert_eq!(
            arns.machine_name(&execution).unwrap_err().name,
            "InvalidArn"
        );
        assert_eq!(
            arns.check_execution(&machine).unwrap_err().name,
            "InvalidArn"
        );
        assert_eq!(
            arns.check_execution("nonsense").unwrap_err().name,
            "InvalidArn"
        );
    }

    #[test]
    fn names_follow_the_service_rules() {
        assert!(check_name("run-1_ok.2", 80).is_ok());
        for bad in [
            "",
            "a b",
            "a:b",
            "a/b",
            "{x}",
            "a*",
            "a\u{1}",
            &"x".repeat(81),
        ] {
            assert_eq!(
                check_name(bad, 80).unwrap_err().name,
                "InvalidName",
                "{bad:?}"
            );
        }
    }
}
