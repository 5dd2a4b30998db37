// Stand-ins for libraries that Debian ships without a static archive for
// armhf, linked only into the static build (FPGAIO_STATIC): GnuTLS's
// PKCS#11 layer (p11-kit), libcurl's GSSAPI (Kerberos/SPNEGO) and its
// OpenLDAP backend (ldap:// URLs; libldap's static archive would pull in
// Cyrus SASL and its GSSAPI plugin). fpga-remote uses none of them: its
// client allows http and https only (CURLOPT_PROTOCOLS_STR) with no
// Negotiate authentication, its certificates are files, not pkcs11: URIs.
// Each stand-in fails the way the real function fails when the feature is
// unavailable (an error status, a null handle), so that a path that does
// reach one ends in the library's own error, never in a pretended success.
#include <cstddef>
#include <cstdint>

extern "C" {

// ---- p11-kit (GnuTLS's PKCS#11 tokens): "no modules", every call refused.
namespace {
const char kNoP11[] = "PKCS#11 (p11-kit) is not available in this static build";
}
const char* p11_kit_message(void) { return kNoP11; }
const char* p11_kit_strerror(unsigned long) { return kNoP11; }
void** p11_kit_modules_load(const char*, int) { return nullptr; }
void* p11_kit_module_load(const char*, int) { return nullptr; }
unsigned long p11_kit_module_finalize(void*) { return 5; /* CKR_GENERAL_ERROR */ }
void p11_kit_module_release(void*) {}
int p11_kit_module_get_flags(void*) { return 0; }
char* p11_kit_module_get_name(void*) { return nullptr; }
char* p11_kit_config_option(void*, const char*) { return nullptr; }
std::size_t p11_kit_space_strlen(const unsigned char*, std::size_t) { return 0; }
char* p11_kit_space_strdup(const unsigned char*, std::size_t) { return nullptr; }
void* p11_kit_pin_new_for_string(const char*) { return nullptr; }
void* p11_kit_pin_request(const char*, void*, const char*, unsigned) { return nullptr; }
void* p11_kit_pin_file_callback(const char*, void*, const char*, unsigned, void*) { return nullptr; }
const unsigned char* p11_kit_pin_get_value(void*, std::size_t* length) {
  if (length) *length = 0;
  return nullptr;
}
std::size_t p11_kit_pin_get_length(void*) { return 0; }
void p11_kit_pin_unref(void*) {}
int p11_kit_pin_register_callback(const char*, void*, void*, void*) { return -1; }
void p11_kit_pin_unregister_callback(const char*, void*, void*) {}
// URIs: parsing reports a bad scheme (P11_KIT_URI_BAD_SCHEME), so a
// "pkcs11:" name is an error, and no URI object is ever made.
void* p11_kit_uri_new(void) { return nullptr; }
void p11_kit_uri_free(void*) {}
int p11_kit_uri_parse(const char*, int, void*) { return -3; }
int p11_kit_uri_format(void*, int, char** string) {
  if (string) *string = nullptr;
  return -1;
}
void* p11_kit_uri_get_attribute(void*, unsigned long) { return nullptr; }
void* p11_kit_uri_get_attributes(void*, unsigned long* n) {
  if (n) *n = 0;
  return nullptr;
}
int p11_kit_uri_set_attribute(void*, void*) { return -1; }
void* p11_kit_uri_get_module_info(void*) { return nullptr; }
void* p11_kit_uri_get_token_info(void*) { return nullptr; }
const char* p11_kit_uri_get_pin_source(void*) { return nullptr; }
const char* p11_kit_uri_get_pin_value(void*) { return nullptr; }
int p11_kit_uri_match_module_info(void*, void*) { return 0; }
int p11_kit_uri_match_token_info(void*, void*) { return 0; }

// ---- GSSAPI (libcurl's Kerberos and SPNEGO): GSS_S_UNAVAILABLE, with no
// output. (libcurl calls these only for CURLAUTH_NEGOTIATE/GSSAPI.)
namespace {
constexpr std::uint32_t kGssUnavailable = 16u << 16;
struct GssBuffer {
  std::size_t length;
  void* value;
};
}  // namespace
void* GSS_C_NT_HOSTBASED_SERVICE = nullptr;
std::uint32_t gss_import_name(std::uint32_t* minor, const void*, const void*, void** out) {
  if (minor) *minor = 0;
  if (out) *out = nullptr;
  return kGssUnavailable;
}
std::uint32_t gss_init_sec_context(std::uint32_t* minor, const void*, void**, const void*, const void*, std::uint32_t,
                                   std::uint32_t, const void*, const void*, void**, GssBuffer* out,
                                   std::uint32_t*, std::uint32_t*) {
  if (minor) *minor = 0;
  if (out) *out = {0, nullptr};
  return kGssUnavailable;
}
std::uint32_t gss_delete_sec_context(std::uint32_t* minor, void** ctx, GssBuffer* out) {
  if (minor) *minor = 0;
  if (ctx) *ctx = nullptr;
  if (out) *out = {0, nullptr};
  return 0;
}
std::uint32_t gss_display_name(std::uint32_t* minor, const void*, GssBuffer* out, void**) {
  if (minor) *minor = 0;
  if (out) *out = {0, nullptr};
  return kGssUnavailable;
}
std::uint32_t gss_display_status(std::uint32_t* minor, std::uint32_t, int, const void*, std::uint32_t* more,
                                 GssBuffer* out) {
  if (minor) *minor = 0;
  if (more) *more = 0;
  if (out) *out = {0, nullptr};
  return kGssUnavailable;
}
std::uint32_t gss_inquire_context(std::uint32_t* minor, const void*, void**, void**, std::uint32_t*, void**,
                                  std::uint32_t*, int*, int*) {
  if (minor) *minor = 0;
  return kGssUnavailable;
}
std::uint32_t gss_release_buffer(std::uint32_t* minor, GssBuffer* b) {
  if (minor) *minor = 0;
  if (b) *b = {0, nullptr};
  return 0;
}
std::uint32_t gss_release_name(std::uint32_t* minor, void** name) {
  if (minor) *minor = 0;
  if (name) *name = nullptr;
  return 0;
}
std::uint32_t gss_wrap(std::uint32_t* minor, const void*, int, std::uint32_t, const void*, int*, GssBuffer* out) {
  if (minor) *minor = 0;
  if (out) *out = {0, nullptr};
  return kGssUnavailable;
}
std::uint32_t gss_unwrap(std::uint32_t* minor, const void*, const void*, GssBuffer* out, int*, std::uint32_t*) {
  if (minor) *minor = 0;
  if (out) *out = {0, nullptr};
  return kGssUnavailable;
}

// ---- OpenLDAP (libcurl's ldap:// and ldaps://): LDAP_NOT_SUPPORTED.
namespace {
constexpr int kLdapNotSupported = -12;
}
const char* ldap_err2string(int) { return "LDAP is not available in this static build"; }
int ldap_url_parse(const char*, void** out) {
  if (out) *out = nullptr;
  return 1; /* LDAP_URL_ERR_MEM: no URL object */
}
void ldap_free_urldesc(void*) {}
int ldap_pvt_url_scheme2proto(const char*) { return -1; }
int ldap_init_fd(int, int, const char*, void** ld) {
  if (ld) *ld = nullptr;
  return kLdapNotSupported;
}
int ldap_set_option(void*, int, const void*) { return -1; }
int ldap_get_option(void*, int, void*) { return -1; }
int ldap_start_tls(void*, void*, void*, int*) { return kLdapNotSupported; }
int ldap_sasl_bind(void*, const char*, const char*, void*, void*, void*, int*) { return kLdapNotSupported; }
int ldap_parse_sasl_bind_result(void*, void*, void**, int) { return kLdapNotSupported; }
int ldap_search_ext(void*, const char*, int, const char*, char**, int, void*, void*, void*, int, int*) {
  return kLdapNotSupported;
}
int ldap_result(void*, int, int, void*, void** res) {
  if (res) *res = nullptr;
  return -1;
}
int ldap_msgtype(void*) { return -1; }
int ldap_msgfree(void*) { return 0; }
int ldap_parse_result(void*, void*, int* err, char**, char**, char***, void***, int) {
  if (err) *err = kLdapNotSupported;
  return kLdapNotSupported;
}
int ldap_get_dn_ber(void*, void*, void**, void*) { return kLdapNotSupported; }
int ldap_get_attribute_ber(void*, void*, void*, void*, void*) { return kLdapNotSupported; }
int ldap_abandon_ext(void*, int, void*, void*) { return kLdapNotSupported; }
int ldap_unbind_ext(void*, void*, void*) { return 0; }
void ldap_memfree(void*) {}
void ber_free(void*, int) {}
void ber_bvfree(void*) {}
void ber_memfree(void*) {}
void ber_memvfree(void**) {}
int ber_sockbuf_add_io(void*, void*, int, void*) { return -1; }

}  // extern "C"
