package import AWSClients
package import PipelineSettings
import Primitives

/// Loads the dataset catalog at init from where `DATASETS_PARAMETER` / `DATASETS_FILE` say.
package enum DatasetCatalogLoader {
    /// The largest document accepted from a file (an SSM parameter holds at most 8 KB, advanced 8 KB).
    package static let maxDocumentBytes = 4 << 20

    /// Reads and parses the catalog.
    /// - Parameters:
    ///   - source: an SSM parameter (read with decryption) or a file path.
    ///   - ssm: the Parameter Store client (only used for `.parameter`).
    ///   - defaultMaxFileSizeBytes: the limit for datasets that set none (`MAX_FILE_SIZE_MB`).
    /// - Throws: `PipelineCoreError` `.invalidSetting` naming the field at fault (the variable, or
    ///   the document path such as `datasets[1].format.type`), or `.settingsUnavailable` when the
    ///   document cannot be fetched.
    package static func load(
        _ source: DocumentSource, ssm: SSMClient?, defaultMaxFileSizeBytes: Int64
    ) async throws(PipelineCoreError) -> DatasetCatalog {
        let bytes: [UInt8]
        let variable: String
        switch source {
        case .parameter(let name):
            variable = "DATASETS_PARAMETER"
            guard let ssm else {
                throw PipelineCoreError(.settingsUnavailable, "no SSM client to read parameter \(name)", setting: variable)
            }
            do {
                bytes = Array(try await ssm.getParameter(name).value.utf8)
            } catch {
                if case .parameterNotFound = error {
                    throw PipelineCoreError(
                        .invalidSetting, "\(variable): SSM parameter \(name) does not exist", setting: variable, aws: error.awsError)
                }
                throw PipelineCoreError(
                    .settingsUnavailable, "\(variable): SSM parameter \(name) could not be read: \(error.code)", setting: variable,
                    aws: error.awsError)
            }
        case .file(let path):
            variable = "DATASETS_FILE"
            do {
                bytes = try FileIO.read(path, limit: maxDocumentBytes)
            } catch {
                throw PipelineCoreError(.invalidSetting, "\(variable): \(error)", setting: variable)
            }
        }
        return try parse(bytes, from: source, defaultMaxFileSizeBytes: defaultMaxFileSizeBytes)
    }

    /// Parses a catalog document, turning its errors into `PipelineCoreError`s that name the field.
    package static func parse(
        _ bytes: [UInt8], from source: DocumentSource, defaultMaxFileSizeBytes: Int64
    ) throws(PipelineCoreError) -> DatasetCatalog {
        do throws(SettingsError) {
            let catalog = try DatasetCatalog.parse(bytes, defaultMaxFileSizeBytes: defaultMaxFileSizeBytes)
            guard !catalog.datasets.isEmpty else {
                throw SettingsError(.invalid, setting: "datasets", detail: "the document defines no dataset")
            }
            return catalog
        } catch {
            throw PipelineCoreError(
                .invalidSetting, "dataset document (\(source)): \(error.setting): \(error.detail)", setting: error.setting)
        }
    }
}
