variable "stack_id" {
  type = string
  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.stack_id))
    error_message = "stack_id must match [a-z0-9-]{1,40}."
  }
}

variable "public_key" {
  type = string
  validation {
    condition     = can(regex("^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [^\\x00-\\x1f\\x7f]*)?$", var.public_key))
    error_message = "public_key must be one line \"ssh-ed25519 AAAA... [comment]\"."
  }
}

variable "box_role_id" {
  description = "Unique id (RoleId) of the instance profile's role: the box writes under PREFIX/boxes/ROLE_ID:INSTANCE_ID/, its aws:userid."
  type        = string
  validation {
    condition     = can(regex("^[A-Z0-9]{16,128}$", var.box_role_id))
    error_message = "box_role_id must be the box role's unique id, [A-Z0-9]{16,128} (AROA...)."
  }
}

variable "expires_at" {
  type = string
  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", var.expires_at)) && can(timeadd(var.expires_at, "0s"))
    error_message = "expires_at must be RFC 3339 UTC, YYYY-MM-DDTHH:MM:SSZ."
  }
}

variable "ssh_user" {
  type    = string
  default = "jump"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.ssh_user)) && var.ssh_user != "root"
    error_message = "ssh_user must be a POSIX user name ([a-z_][a-z0-9_-]{0,31}) other than root."
  }
}

variable "permit_open" {
  description = "HOST:PORT targets sshd lets the user forward to (PermitOpen); empty: no PermitOpen line, so any."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.permit_open) <= 16 && alltrue([for t in var.permit_open : can(regex("^([A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]):([1-9][0-9]{0,4}|\\*)$", t)) && (endswith(t, ":*") || try(tonumber(regex("[0-9]+$", t)) <= 65535, false))])
    error_message = "permit_open must be at most 16 HOST:PORT targets (HOST a DNS name, IPv4 or [IPv6]; PORT 1-65535 or *)."
  }
}

variable "ssh_port" {
  type    = number
  default = 22
  validation {
    condition     = var.ssh_port >= 1 && var.ssh_port <= 65535 && floor(var.ssh_port) == var.ssh_port
    error_message = "ssh_port must be an integer in 1..65535."
  }
}

variable "clean_function_name" {
  type = string
  validation {
    condition     = can(regex("^[A-Za-z0-9:_-]{1,170}$", var.clean_function_name))
    error_message = "clean_function_name must be a Lambda function name or ARN."
  }
}

variable "region" {
  type = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "state_url" {
  description = "The stack's state, s3://BUCKET[/PREFIX]: the box publishes its host key and token hash under PREFIX/boxes/ROLE_ID:INSTANCE_ID/, and ships sshd's log there at shutdown."
  type        = string
  validation {
    # No empty, "." or ".." segment: the box's scripts refuse them.
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/([A-Za-z0-9_-][A-Za-z0-9._-]*/)*([A-Za-z0-9_-][A-Za-z0-9._-]*)?)?$", var.state_url))
    error_message = "state_url must be s3://BUCKET[/PREFIX]: the box publishes its host key there."
  }
}

variable "poweroff_grace_minutes" {
  type    = number
  default = 10
  validation {
    condition     = var.poweroff_grace_minutes >= 1 && var.poweroff_grace_minutes <= 120 && floor(var.poweroff_grace_minutes) == var.poweroff_grace_minutes
    error_message = "poweroff_grace_minutes must be an integer in 1..120."
  }
}

variable "deadline_poll_seconds" {
  description = "How often the box reads its deadline object (PREFIX/deadlines/ROLE_ID:INSTANCE_ID.json) and re-arms its teardown: a keep-alive lapse ends the box within this much."
  type        = number
  default     = 15
  validation {
    condition     = var.deadline_poll_seconds >= 5 && var.deadline_poll_seconds <= 300 && floor(var.deadline_poll_seconds) == var.deadline_poll_seconds
    error_message = "deadline_poll_seconds must be an integer in 5..300."
  }
}

variable "max_ttl_seconds" {
  description = "The box's own hard cap: whatever its deadline object says, its teardown and poweroff backstop are armed no later than boot + this (the poweroff a grace after)."
  type        = number
  default     = 86400
  validation {
    condition     = var.max_ttl_seconds >= 10 && var.max_ttl_seconds <= 86400 && floor(var.max_ttl_seconds) == var.max_ttl_seconds
    error_message = "max_ttl_seconds must be an integer in 10..86400."
  }
}
