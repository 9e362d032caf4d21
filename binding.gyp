{
  "targets": [
    {
      "target_name": "logstore_native",
      "sources": ["native/logstore_native.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags!": ["-O2"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-Wall", "-Wextra"]
      }
    },
    {
      "target_name": "logstore_native_test",
      "sources": ["native/logstore_native.c"],
      "defines": ["NAPI_VERSION=8", "LOGSTORE_TEST_HOOKS"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags!": ["-O2"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-Wall", "-Wextra"]
      }
    }
  ]
}
