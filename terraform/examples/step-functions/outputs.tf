output "state_machine_arn" {
  description = "Give it to the control plane: step_functions_state_machine_arns = [this]."
  value       = aws_sfn_state_machine.backup.arn
}

output "queue_url" {
  description = "The queue the backup VM polls (JOBS_QUEUE in README.md)."
  value       = aws_sqs_queue.jobs.url
}

output "backup_vm_queue_policy" {
  description = "What the backup VM needs on the queue (attached to backup_vm_role_name when set)."
  value       = data.aws_iam_policy_document.backup_vm.json
}
