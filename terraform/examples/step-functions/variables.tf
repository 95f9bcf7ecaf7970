variable "region" {
  type = string
}

variable "name" {
  description = "Name of the state machine, its queue and roles."
  type        = string
  default     = "jumpbox-nightly-backup"
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,60}$", var.name))
    error_message = "name: 1 to 60 of A-Z a-z 0-9 _ -."
  }
}

variable "schedule" {
  description = "EventBridge Scheduler expression that starts the backup; \"\" for none (start executions yourself)."
  type        = string
  default     = "cron(0 2 * * ? *)"
}

variable "job" {
  description = "The input of each scheduled execution: what the on-prem job is to do (the backup VM reads it from the message)."
  type        = any
  default     = { job = "nightly" }
}

variable "heartbeat_seconds" {
  description = "HeartbeatSeconds of the task: the backup VM must pick the message up and then heartbeat (provisioner run --heartbeat) more often than this, or the task times out (States.HeartbeatTimeout) and is retried with a new token."
  type        = number
  default     = 180
}

variable "timeout_seconds" {
  description = "TimeoutSeconds of the task: the longest a backup may run."
  type        = number
  default     = 28800
}

variable "backup_vm_role_name" {
  description = "IAM role of the backup VM; when set, it gets the queue policy (receive and delete only). The SendTask* permissions come from the control plane (step_functions_state_machine_arns)."
  type        = string
  default     = ""
}
