//! The license-key email: what the customer reads. Rendering is pure; sending
//! is the mailer's job.

use crate::grant::GrantLicenseKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render_key_email(entitlement_name: &str, activation_message: Option<&str>, key: &GrantLicenseKey) -> KeyEmail {
    let limit = key.activations_limit.map_or("unlimited".to_string(), |n| n.to_string());
    let expiry = key.expires_at.clone().unwrap_or_else(|| "never".to_string());
    let message = activation_message.unwrap_or_default();
    let text = format!(
        "Your license key for {entitlement_name}:\n\n    {}\n\n{message}{}Activations allowed: {limit}\nExpires: {expiry}\n",
        key.key,
        if message.is_empty() { "" } else { "\n\n" },
    );
    let html = format!(
        "<p>Your license key for <strong>{}</strong>:</p>\n<p><code>{}</code></p>\n{}<p>Activations allowed: {limit}<br>Expires: {expiry}</p>\n",
        escape(entitlement_name),
        escape(&key.key),
        if message.is_empty() { String::new() } else { format!("<p>{}</p>\n", escape(message)) },
    );
    KeyEmail {
        subject: format!("Your license key for {entitlement_name}"),
        text,
        html,
    }
}

/// The email that hands a customer their portal link (valid `hours`).
pub fn render_portal_email(business_name: &str, link: &str, hours: i64) -> KeyEmail {
    let text = format!(
        "Open your {business_name} customer portal to see your licenses, devices, downloads and credits:\n\n{link}\n\n\
         The link works for {hours} hours. If you did not ask for it, you can ignore this email.\n"
    );
    let html = format!(
        "<p>Open your <strong>{}</strong> customer portal to see your licenses, devices, downloads and credits:</p>\n\
         <p><a href=\"{}\">Open the customer portal</a></p>\n\
         <p>The link works for {hours} hours. If you did not ask for it, you can ignore this email.</p>\n",
        escape(business_name),
        escape(link),
    );
    KeyEmail {
        subject: format!("Your {business_name} customer portal"),
        text,
        html,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_email_carries_its_link_on_a_line_of_its_own() {
        let email = render_portal_email("Acme <Tools>", "https://api.example/customer-portal/session/abc", 24);
        assert!(email
            .text
            .lines()
            .any(|line| line == "https://api.example/customer-portal/session/abc"));
        assert!(email.html.contains("Acme &lt;Tools&gt;"));
        assert!(email
            .html
            .contains("href=\"https://api.example/customer-portal/session/abc\""));
        assert_eq!(email.subject, "Your Acme <Tools> customer portal");
    }
    use crate::license_key::LicenseKeyStatus;

    fn key(limit: Option<i64>, expires_at: Option<&str>) -> GrantLicenseKey {
        GrantLicenseKey {
            id: "lk_1".into(),
            key: "AB<CD>".into(),
            activations_used: 0,
            activations_limit: limit,
            expires_at: expires_at.map(str::to_string),
            status: LicenseKeyStatus::Active,
            leases: None,
            activation_shards: None,
        }
    }

    #[test]
    fn both_parts_carry_key_message_limit_and_expiry() {
        let email = render_key_email(
            "Pro & Co",
            Some("Enter it in Settings"),
            &key(Some(3), Some("2027-01-01T00:00:00Z")),
        );
        assert_eq!(email.subject, "Your license key for Pro & Co");
        for part in [&email.text, &email.html] {
            assert!(part.contains("Enter it in Settings"));
            assert!(part.contains("Activations allowed: 3"));
            assert!(part.contains("Expires: 2027-01-01T00:00:00Z"));
        }
        assert!(email.text.contains("AB<CD>"));
        assert!(email.html.contains("AB&lt;CD&gt;") && email.html.contains("Pro &amp; Co"));
    }

    #[test]
    fn no_limit_and_no_expiry_are_said_plainly() {
        let email = render_key_email("Pro", None, &key(None, None));
        assert!(email.text.contains("Activations allowed: unlimited") && email.text.contains("Expires: never"));
    }
}
