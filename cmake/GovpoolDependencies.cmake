# Every dependency comes from Debian 12 packages installed by scripts/setup.sh.
find_package(Threads REQUIRED)
# Boost: the compiled components by name; Boost::headers (Asio, Beast, UUID) comes with any.
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json url)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(pugixml 1.13 CONFIG REQUIRED)  # the libvirt driver's domain XML
find_package(CLI11 2.1 CONFIG REQUIRED)     # govpoolctl's command line (header-only)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBVIRT REQUIRED IMPORTED_TARGET libvirt)
pkg_check_modules(LIBISOFS REQUIRED IMPORTED_TARGET libisofs-1)  # the agent's cloud-init seed images
pkg_check_modules(LIBARGON2 REQUIRED IMPORTED_TARGET libargon2)  # user password hashes (Argon2id)
pkg_check_modules(LIBQRENCODE REQUIRED IMPORTED_TARGET libqrencode)  # govpoolctl's TOTP enrolment QR code
if(GOVPOOL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
