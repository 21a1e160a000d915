package enum AWSClientsS3Placeholder {}
