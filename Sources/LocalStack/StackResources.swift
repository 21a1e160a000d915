import AWSClients
import AWSCore
import JSONCodec
package import PipelineCore

/// The queue URLs and ARNs the set-up created.
package struct QueueSet: Sendable, Hashable {
    package var url: [FunctionKind: String] = [:]
    package var arn: [FunctionKind: String] = [:]
    package var deadLetterURL: [FunctionKind: String] = [:]
    package var deadLetterArn: [FunctionKind: String] = [:]

    package init() {}
}

/// Creates what infra/template.yaml declares, on moto: buckets, queues with dead-letter queues and
/// redrive policies, S3 → SQS notifications, the status table with both GSIs and TTL, and the SSM
/// parameters.
package struct StackResources: Sendable {
    package let layout: StackLayout
    package let clients: PipelineClients

    package init(layout: StackLayout, clients: PipelineClients) {
        self.layout = layout
        self.clients = clients
    }

    /// Creates everything. `visibilityTimeout` is the queues' (six times the function timeout).
    /// - Throws: `LocalStackError` `.setUp` naming the resource.
    package func create(visibilityTimeout: Int, datasets: String, starSchema: String?) async throws(LocalStackError) -> QueueSet {
        for bucket in [layout.dropboxBucket, layout.ingestBucket, layout.processedBucket] {
            try await step("bucket \(bucket)") { () async throws(AWSError) in try await clients.s3.createBucket(bucket) }
        }
        var queues = QueueSet()
        for function in layout.functions {
            let dlqName = layout.deadLetterQueueName(function)
            let dlq = try await step("queue \(dlqName)") { () async throws(AWSError) in
                try await clients.sqs.createQueue(name: dlqName, attributes: ["MessageRetentionPeriod": "1209600"])
            }
            let dlqArn = try await queueArn(dlq, dlqName)
            let redrive = JSON.object(["deadLetterTargetArn": .string(dlqArn), "maxReceiveCount": .string(String(layout.maxReceiveCount))])
            let name = layout.queueName(function)
            let url = try await step("queue \(name)") { () async throws(AWSError) in
                try await clients.sqs.createQueue(
                    name: name,
                    attributes: [
                        "VisibilityTimeout": String(visibilityTimeout), "MessageRetentionPeriod": "1209600", "RedrivePolicy": redrive.text,
                    ])
            }
            queues.url[function] = url
            queues.arn[function] = try await queueArn(url, name)
            queues.deadLetterURL[function] = dlq
            queues.deadLetterArn[function] = dlqArn
        }
        // Notifications, grouped per bucket (a put replaces the bucket's whole configuration).
        var perBucket: [String: [S3QueueNotification]] = [:]
        for function in layout.functions {
            let (bucket, prefix) = layout.trigger(function)
            perBucket[bucket, default: []].append(
                S3QueueNotification(
                    id: "\(function.rawValue)-trigger", queueArn: queues.arn[function]!, events: ["s3:ObjectCreated:*"], prefix: prefix))
        }
        for (bucket, notifications) in perBucket.sorted(by: { $0.key < $1.key }) {
            try await step("notifications of \(bucket)") { () async throws(AWSError) in
                try await clients.s3.putBucketNotificationConfiguration(bucket: bucket, queues: notifications)
            }
        }
        // Configuring a notification enqueues an s3:TestEvent: drop them so the runner starts clean.
        for function in layout.functions {
            try await step("purge of \(layout.queueName(function))") { () async throws(AWSError) in
                try await clients.sqs.purgeQueue(queueURL: queues.url[function]!)
            }
        }
        do {
            try await StatusStore.createTable(
                clients.dynamoDB, table: layout.statusTable, fileNameIndex: layout.fileNameIndex, datasetTimeIndex: layout.datasetTimeIndex)
        } catch {
            throw LocalStackError(.setUp, "status table \(layout.statusTable): \(error)")
        }
        try await putParameter(layout.datasetsParameter, datasets)
        if let starSchema { try await putParameter(layout.starSchemaParameter, starSchema) }
        return queues
    }

    /// Looks up the queues of an existing stack (pipelinectl).
    package func existingQueues() async throws(LocalStackError) -> QueueSet {
        var queues = QueueSet()
        for function in layout.functions {
            let name = layout.queueName(function)
            let dlqName = layout.deadLetterQueueName(function)
            queues.url[function] = try await step("queue \(name)") { () async throws(AWSError) in try await clients.sqs.getQueueURL(name: name) }
            queues.deadLetterURL[function] = try await step("queue \(dlqName)") { () async throws(AWSError) in
                try await clients.sqs.getQueueURL(name: dlqName)
            }
            queues.arn[function] = try await queueArn(queues.url[function]!, name)
            queues.deadLetterArn[function] = try await queueArn(queues.deadLetterURL[function]!, dlqName)
        }
        return queues
    }

    /// PutParameter in the Advanced tier (the star schema is over the Standard tier's 4 KB), as
    /// the template's `AWS::SSM::Parameter` with an 8 KB document needs.
    private func putParameter(_ name: String, _ value: String) async throws(LocalStackError) {
        let service = clients.ssm.json
        let tier = value.utf8.count > 4096 ? "Advanced" : "Standard"
        _ = try await step("parameter \(name)") { () async throws(AWSError) in
            try await service.call(
                "PutParameter",
                ["Name": .string(name), "Value": .string(value), "Type": "String", "Overwrite": true, "Tier": .string(tier)])
        }
    }

    private func queueArn(_ url: String, _ name: String) async throws(LocalStackError) -> String {
        let attributes = try await step("attributes of \(name)") { () async throws(AWSError) in
            try await clients.sqs.getQueueAttributes(queueURL: url, names: ["QueueArn"])
        }
        guard let arn = attributes["QueueArn"] else { throw LocalStackError(.setUp, "queue \(name) has no QueueArn") }
        return arn
    }

    private func step<T>(_ what: String, _ body: () async throws(AWSError) -> T) async throws(LocalStackError) -> T {
        do {
            return try await body()
        } catch {
            throw LocalStackError(.setUp, "\(what): \(error)")
        }
    }
}
