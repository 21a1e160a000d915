/// A setting that is missing or wrong, naming exactly which one so an operator can fix it. Raised
/// at start-up (an init error) or when a dataset document is loaded.
package struct SettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// A required environment variable is not set.
        case missing = "MissingSetting"
        /// A value does not have the expected form.
        case invalid = "InvalidSetting"
        /// The dataset or star-schema document is not valid JSON.
        case malformedDocument = "MalformedDocument"
    }

    package var code: Code
    /// The variable name, or the path of the field in a document (`datasets[1].format.type`).
    package var setting: String
    package var detail: String

    package init(_ code: Code, setting: String, detail: String) {
        self.code = code
        self.setting = setting
        self.detail = detail
    }

    package var description: String { "\(setting): \(detail)" }
}
