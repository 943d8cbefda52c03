/*
 * fmt_fields: the field list of every kind (man/duo-fmt.1, FIELD LISTS)
 * and the admin action labels.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "duo.h"
#include "fmt_int.h"

/*
 * Each entry: mpe/kv key, CEF key, how, path, p2, tail, ip part.  New
 * keys go where the man page and the mpe rules have them: the rules walk
 * the line key by key.
 */
static const struct field auth_fields[] = {
	{ "txid", "externalId", F_VAL, "txid", NULL, 0, 0 },
	{ "event_type", "cat", F_VAL, "event_type", NULL, 0, 0 },
	{ "result", "outcome", F_VAL, "result", NULL, 0, 0 },
	{ "reason", "reason", F_VAL, "reason", NULL, 0, 0 },
	{ "factor", "act", F_VAL, "factor", NULL, 0, 0 },
	{ "user", "suser", F_VAL, "user.name", NULL, 0, 0 },
	{ "email", "duoEmail", F_VAL, "email", NULL, 0, 0 },
	{ "groups", "duoGroups", F_JOIN, "user.groups", NULL, 0, 0 },
	{ "app", "destinationServiceName", F_VAL, "application.name", NULL,
	    0, 0 },
	{ "app_key", "duoAppKey", F_VAL, "application.key", NULL, 0, 0 },
	{ "ip", "src", F_OBJ, "access_device.ip", "address", 0, IP_ADDR },
	{ "port", "spt", F_OBJ, "access_device.ip", "address", 0, IP_PORT },
	{ "ip_text", "duoIp", F_OBJ, "access_device.ip", "address", 0,
	    IP_TEXT },
	{ "host", "shost", F_VAL, "access_device.hostname", NULL, 0, 0 },
	{ "loc", "duoLocation", F_LOC, "access_device.location", NULL, 0, 0 },
	{ "os", "duoOs", F_CAT2, "access_device.os",
	    "access_device.os_version", 0, 0 },
	{ "browser", "requestClientApplication", F_CAT2,
	    "access_device.browser", "access_device.browser_version", 0, 0 },
	{ "auth_dev", "duoAuthDevice", F_VAL, "auth_device.name", NULL, 0, 0 },
	{ "auth_ip", "duoAuthIp", F_VAL, "auth_device.ip", NULL, 0, IP_ADDR },
	{ "auth_port", "duoAuthPort", F_VAL, "auth_device.ip", NULL, 0,
	    IP_PORT },
	{ "auth_ip_text", "duoAuthIpText", F_VAL, "auth_device.ip", NULL, 0,
	    IP_TEXT },
	{ "auth_loc", "duoAuthLocation", F_LOC, "auth_device.location", NULL,
	    0, 0 },
	{ "user_key", "suid", F_VAL, "user.key", NULL, 0, 0 },
	{ "alias", "duoAlias", F_VAL, "alias", NULL, 0, 0 },
	{ "endpoint", "duoEndpointStatus", F_VAL, "trusted_endpoint_status",
	    NULL, 0, 0 },
	{ "encrypted", "duoEncrypted", F_VAL,
	    "access_device.is_encryption_enabled", NULL, 0, 0 },
	{ "firewall", "duoFirewall", F_VAL,
	    "access_device.is_firewall_enabled", NULL, 0, 0 },
	{ "password_set", "duoPasswordSet", F_VAL,
	    "access_device.is_password_set", NULL, 0, 0 },
	{ "app_dest", "duoAppDestination", F_VAL,
	    "application.destination_name", NULL, 0, 0 },
	{ "auth_dev_key", "duoAuthDeviceKey", F_VAL, "auth_device.key", NULL,
	    0, 0 },
	{ "epkey", "duoEpkey", F_VAL, "access_device.epkey", NULL, 0, 0 },
	{ "agents", "duoSecurityAgents", F_JOIN,
	    "access_device.security_agents", "security_agent", 0, 0 },
	{ "trust", "duoTrustLevel", F_VAL,
	    "adaptive_trust_assessments.more_secure_auth.trust_level", NULL,
	    0, 0 },
	{ "trust_reason", "duoTrustReason", F_VAL,
	    "adaptive_trust_assessments.more_secure_auth.reason", NULL, 0, 0 },
	{ "detectors", "duoAttackDetectors", F_JOIN,
	    "adaptive_trust_assessments.more_secure_auth."
	    "detected_attack_detectors", NULL, 0, 0 },
	{ "remember", "duoRememberMeTrust", F_VAL,
	    "adaptive_trust_assessments.remember_me.trust_level", NULL, 0, 0 },
	{ "remember_reason", "duoRememberMeReason", F_VAL,
	    "adaptive_trust_assessments.remember_me.reason", NULL, 0, 0 },
	{ "rbfs_detectors", "duoRbfsDetectors", F_JOIN,
	    "rbfs_triggered_attacks", "detector", 0, 0 },
	{ "rbfs_cc_access", "duoRbfsAccessCountry", F_JOIN,
	    "rbfs_triggered_attacks", "country_code_access", 0, 0 },
	{ "rbfs_cc_auth", "duoRbfsAuthCountry", F_JOIN,
	    "rbfs_triggered_attacks", "country_code_auth", 0, 0 },
	{ "rbfs_velocity", "duoRbfsTravelVelocity", F_JOIN,
	    "rbfs_triggered_attacks", "unrealistic_travel_velocity", 0, 0 },
	{ "rbfs_suppressed", "duoRbfsSuppressed", F_JOIN,
	    "rbfs_triggered_attacks", "suppressed", 0, 0 },
	{ "passport", "duoPassportSupported", F_VAL,
	    "passport_assessment.is_supported", NULL, 0, 0 },
	{ "passport_reason", "duoPassportReason", F_VAL,
	    "passport_assessment.reason", NULL, 0, 0 },
	{ "trusted_session", "duoTrustedSession", F_VAL,
	    "trusted_session_info.trusted_session_uuid", NULL, 0, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0, 0 }
};

static const struct field admin_fields[] = {
	{ "action", "act", F_VAL, "action", NULL, 0, 0 },
	{ "label", "duoLabel", F_LABEL, "action", NULL, 0, 0 },
	{ "admin", "suser", F_VAL, "username", NULL, 0, 0 },
	{ "object", "duoObject", F_VAL, "object", NULL, 0, 0 },
	{ "ip", "src", F_SUB, "description", "ip_address|ip", 0, IP_ADDR },
	{ "port", "spt", F_SUB, "description", "ip_address|ip", 0, IP_PORT },
	{ "ip_text", "duoIp", F_SUB, "description", "ip_address|ip", 0,
	    IP_TEXT },
	{ "factor", "duoFactor", F_SUB, "description", "factor", 0, 0 },
	{ "error", "reason", F_SUB, "description", "error", 0, 0 },
	{ "device", "duoDevice", F_SUB, "description", "device", 0, 0 },
	{ "description", "msg", F_VAL, "description", NULL, 1, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0, 0 }
};

static const struct field telephony_fields[] = {
	{ "txid", "duoTxid", F_VAL, "txid", NULL, 0, 0 },
	{ "type", "act", F_VAL, "type", NULL, 0, 0 },
	{ "context", "cat", F_VAL, "context", NULL, 0, 0 },
	{ "phone", "duoPhone", F_VAL, "phone", NULL, 0, 0 },
	{ "credits", "cnt", F_VAL, "credits", NULL, 0, 0 },
	{ "telephony_id", "externalId", F_VAL, "telephony_id", NULL, 0, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0, 0 }
};

static const struct field activity_fields[] = {
	{ "activity_id", "externalId", F_VAL, "activity_id", NULL, 0, 0 },
	{ "action", "act", F_OBJ, "action", "name", 0, 0 },
	{ "actor_type", "duoActorType", F_VAL, "actor.type", NULL, 0, 0 },
	{ "actor", "suser", F_VAL, "actor.name", NULL, 0, 0 },
	{ "target_type", "duoTargetType", F_VAL, "target.type", NULL, 0, 0 },
	{ "target", "duser", F_VAL, "target.name", NULL, 0, 0 },
	{ "app", "destinationServiceName", F_VAL, "application.name", NULL,
	    0, 0 },
	{ "ip", "src", F_OBJ, "access_device.ip", "address", 0, IP_ADDR },
	{ "port", "spt", F_OBJ, "access_device.ip", "address", 0, IP_PORT },
	{ "ip_text", "duoIp", F_OBJ, "access_device.ip", "address", 0,
	    IP_TEXT },
	{ "outcome", "outcome", F_OBJ, "outcome", "result", 0, 0 },
	{ "actor_key", "suid", F_VAL, "actor.key", NULL, 0, 0 },
	{ "target_key", "duid", F_VAL, "target.key", NULL, 0, 0 },
	{ "app_key", "duoAppKey", F_VAL, "application.key", NULL, 0, 0 },
	{ "loc", "duoLocation", F_LOC, "access_device.location", NULL, 0, 0 },
	{ "os", "duoOs", F_CAT2, "access_device.os",
	    "access_device.os_version", 0, 0 },
	{ "browser", "requestClientApplication", F_CAT2,
	    "access_device.browser", "access_device.browser_version", 0, 0 },
	{ "target_email", "duoTargetEmail", F_SUB, "target.details", "email",
	    0, 0 },
	{ "target_status", "duoTargetStatus", F_SUB, "target.details",
	    "status", 0, 0 },
	{ "akey", "duoAkey", F_VAL, "akey", NULL, 0, 0 },
	{ "app_type", "duoAppType", F_VAL, "application.type", NULL, 0, 0 },
	{ "details", "msg", F_VAL, "action.details", NULL, 1, 0 },
	{ "actor_details", "duoActorDetails", F_VAL, "actor.details", NULL,
	    1, 0 },
	{ "target_details", "duoTargetDetails", F_VAL, "target.details", NULL,
	    1, 0 },
	{ "old_target", "duoOldTarget", F_VAL, "old_target", NULL, 1, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0, 0 }
};

static const struct field offline_fields[] = {
	{ "action", "act", F_VAL, "action", NULL, 0, 0 },
	{ "user", "suser", F_VAL, "username", NULL, 0, 0 },
	{ "object", "duoObject", F_VAL, "object", NULL, 0, 0 },
	{ "hostname", "shost", F_SUB, "description", "hostname", 0, 0 },
	{ "factor", "duoFactor", F_SUB, "description", "factor", 0, 0 },
	{ "user_agent", "requestClientApplication", F_SUB, "description",
	    "user_agent", 0, 0 },
	{ "description", "msg", F_VAL, "description", NULL, 1, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0, 0 }
};

static const struct field tm_fields[] = {
	{ "sekey", "externalId", F_VAL, "sekey", NULL, 0, 0 },
	{ "type", "cat", F_VAL, "type", NULL, 0, 0 },
	{ "state", "duoState", F_VAL, "state", NULL, 0, 0 },
	{ "priority", "duoPriority", F_VAL, "priority_event", NULL, 0, 0 },
	{ "user", "suser", F_FIRST, "surfaced_auth.user.name",
	    "enabled_for.name", 0, 0 },
	{ "ip", "src", F_OBJ, "surfaced_auth.access_device.ip", "address",
	    0, IP_ADDR },
	{ "port", "spt", F_OBJ, "surfaced_auth.access_device.ip", "address",
	    0, IP_PORT },
	{ "ip_text", "duoIp", F_OBJ, "surfaced_auth.access_device.ip",
	    "address", 0, IP_TEXT },
	{ "app", "destinationServiceName", F_VAL,
	    "surfaced_auth.application.name", NULL, 0, 0 },
	{ "factor", "act", F_VAL, "surfaced_auth.factor", NULL, 0, 0 },
	{ "result", "outcome", F_VAL, "surfaced_auth.result", NULL, 0, 0 },
	{ "reason", "reason", F_VAL, "surfaced_auth.reason", NULL, 0, 0 },
	{ "txid", "duoTxid", F_VAL, "surfaced_auth.txid", NULL, 0, 0 },
	{ "enabled_by", "duoEnabledBy", F_VAL, "enabled_by.name", NULL, 0,
	    0 },
	{ "reasons", "duoPriorityReasons", F_JOIN, "priority_reasons",
	    "label", 0, 0 },
	{ "triaged", "duoTriaged", F_VAL, "triaged_as_interesting", NULL, 0,
	    0 },
	{ "uri", "duoUri", F_VAL, "triage_event_uri", NULL, 0, 0 },
	{ "auth_time", "duoAuthTime", F_VAL, "surfaced_auth.isotimestamp",
	    NULL, 0, 0 },
	{ "auth_loc", "duoLocation", F_LOC,
	    "surfaced_auth.access_device.location", NULL, 0, 0 },
	{ "auth_os", "duoOs", F_CAT2, "surfaced_auth.access_device.os",
	    "surfaced_auth.access_device.os_version", 0, 0 },
	{ "auth_browser", "requestClientApplication", F_CAT2,
	    "surfaced_auth.access_device.browser",
	    "surfaced_auth.access_device.browser_version", 0, 0 },
	{ "auth_dev", "duoAuthDevice", F_VAL, "surfaced_auth.auth_device.name",
	    NULL, 0, 0 },
	{ "explain_types", "duoExplanationTypes", F_JOIN, "explanations",
	    "type", 0, 0 },
	{ "reason_types", "duoPriorityReasonTypes", F_JOIN,
	    "priority_reasons", "type", 0, 0 },
	{ "bypass_enabled", "duoBypassEnabled", F_VAL,
	    "bypass_status_enabled", NULL, 0, 0 },
	{ "enabled_for", "duser", F_VAL, "enabled_for.name", NULL, 0, 0 },
	{ "explanations", "msg", F_JOIN, "explanations", "summary", 1, 0 },
	{ "details", "duoDetails", F_VAL, "details", NULL, 1, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0, 0 }
};

const struct field *const fmt_fields[FMT_NKIND] = {
	NULL, auth_fields, admin_fields, telephony_fields, activity_fields,
	offline_fields, tm_fields
};

const char *const fmt_knames[FMT_NKIND] = {
	"unparsed", "auth", "admin", "telephony", "activity", "offline",
	"trustmonitor"
};

const char *const fmt_kupper[FMT_NKIND] = {
	"UNPARSED", "AUTH", "ADMIN", "TELEPHONY", "ACTIVITY", "OFFLINE",
	"TRUSTMONITOR"
};

/*
 * Friendly admin action labels: Duo's splunk.py example and the
 * LogRhythm fork's collector (justintime/logrhythm-duo), whose MPE rules
 * test "Admin Login", "Admin Login Error" and "Admin 2FA Error".
 */
const char *const fmt_labels[][2] = {
	{ "ad_sync_begin", "Active Directory Sync Start" },
	{ "ad_sync_finish", "Active Directory Sync Finish" },
	{ "admin_2fa_error", "Admin 2FA Error" },
	{ "admin_create", "Create Admin" },
	{ "admin_delete", "Delete Admin" },
	{ "admin_login", "Admin Login" },
	{ "admin_login_error", "Admin Login Error" },
	{ "admin_reset_password", "Admin Password Reset" },
	{ "admin_send_reset_password_email",
	    "Admin Send Password Reset Email" },
	{ "admin_update", "Update Admin" },
	{ "customer_update", "Update Customer" },
	{ "group_create", "Create Group" },
	{ "group_delete", "Delete Group" },
	{ "group_update", "Update Group" },
	{ "integration_create", "Create Integration" },
	{ "integration_delete", "Delete Integration" },
	{ "integration_skey_view", "Admin Viewed Integration Secret Key" },
	{ "integration_update", "Update Integration" },
	{ "phone_create", "Create Phone" },
	{ "phone_delete", "Delete Phone" },
	{ "phone_update", "Update Phone" },
	{ "user_create", "Create User" },
	{ "user_delete", "Delete User" },
	{ "user_update", "Update User" },
	{ NULL, NULL }
};

/*
 * Authentication factors as the v1 log (and so the original LogRhythm
 * integration's lines) spelled them; others become words with capitals
 * ("new_factor" "New Factor").
 */
const char *const fmt_v1_factors[][2] = {
	{ "bypass_code", "Bypass Code" },
	{ "duo_mobile_passcode", "Duo Mobile Passcode" },
	{ "duo_push", "Duo Push" },
	{ "hardware_token", "Hardware Token" },
	{ "not_available", "Not Available" },
	{ "passcode", "Passcode" },
	{ "phone_call", "Phone Call" },
	{ "remembered_device", "Remembered Device" },
	{ "sms_passcode", "SMS Passcode" },
	{ "sms_refresh", "SMS Refresh" },
	{ "trusted_network", "Trusted Network" },
	{ "u2f_token", "U2F Token" },
	{ "verified_duo_push", "Verified Duo Push" },
	{ "webauthn_credential", "WebAuthn Credential" },
	{ "webauthn_security_key", "WebAuthn Security Key" },
	{ "yubikey_code", "Yubikey Passcode" },
	{ NULL, NULL }
};

/* Results: v2 denied has no v1 word; it was a FAILURE then. */
const char *const fmt_v1_results[][2] = {
	{ "denied", "FAILURE" },
	{ "error", "ERROR" },
	{ "failure", "FAILURE" },
	{ "fraud", "FRAUD" },
	{ "success", "SUCCESS" },
	{ NULL, NULL }
};
