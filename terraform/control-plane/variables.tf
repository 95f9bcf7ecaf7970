variable "region" {
  description = "Region of the control plane and of every jump box."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "account_id" {
  description = "The AWS account the control plane lives in (12 digits): every policy names its resources by ARN."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be 12 digits."
  }
}

variable "name_prefix" {
  description = "Prefix of every name. terraform/aws's defaults (jumpbox-clean, jumpbox-box) assume \"jumpbox\"."
  type        = string
  default     = "jumpbox"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name_prefix))
    error_message = "name_prefix must match [a-z][a-z0-9-]{0,23}."
  }
}

variable "state_bucket_name" {
  description = "State bucket. Empty: <name_prefix>-state-<account_id>-<region>."
  type        = string
  default     = ""
}

variable "state_prefix" {
  description = "Key prefix for leases and Terraform states in the bucket."
  type        = string
  default     = "stacks"
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.state_prefix))
    error_message = "state_prefix must match [a-z0-9][a-z0-9-]{0,62}."
  }
}

variable "noncurrent_version_days" {
  description = "Days after which old versions of state objects are deleted."
  type        = number
  default     = 30
}

variable "audit_retention_days" {
  description = "Days the stacks' audit records (<state_prefix>/audit/) and the boxes' records (<state_prefix>/boxes/) are kept; then S3 expires them."
  type        = number
  default     = 365
  validation {
    condition     = var.audit_retention_days >= 1 && var.audit_retention_days == floor(var.audit_retention_days)
    error_message = "audit_retention_days must be a whole number of days, at least 1."
  }
}

variable "image_digest" {
  description = "Digest (sha256:...) of the image in the repository that both functions run (`make push` prints it; dist/image/digest). Empty: no functions yet, the first apply makes the repository to push to."
  type        = string
  default     = ""
  validation {
    condition     = var.image_digest == "" || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256: and 64 hex digits (or empty)."
  }
}

variable "image_keep_count" {
  description = "Images the repository keeps (the newest); older ones expire. Keep the deployed one among them."
  type        = number
  default     = 10
  validation {
    condition     = var.image_keep_count >= 2
    error_message = "image_keep_count must be at least 2 (the deployed image and the one before it)."
  }
}

variable "architecture" {
  description = "Lambda architecture; the image must be built for it (`make image` builds for the machine it runs on)."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "max_ttl" {
  description = "Longest lease the build function grants (JUMPBOX_MAX_TTL)."
  type        = string
  default     = "4h"
}

variable "allowed_cidrs" {
  description = "CIDRs a requester's allow_cidr must lie within (JUMPBOX_ALLOWED_CIDRS)."
  type        = list(string)
  validation {
    condition     = length(var.allowed_cidrs) > 0 && alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must be a non-empty list of CIDRs."
  }
}

variable "allowed_targets" {
  description = "HOST:PORT patterns a request's permit_open must lie within (JUMPBOX_ALLOWED_TARGETS): HOST a name, an address, *.DOMAIN, a CIDR or *; PORT a number or *. Non-empty: every request must name its targets, and its boxes forward only there. Empty: requests are not bounded and may leave permit_open out (the box forwards anywhere)."
  type        = list(string)
  default     = []
  validation {
    condition     = length(var.allowed_targets) <= 32 && alltrue([for t in var.allowed_targets : can(regex("^[^,\\s]+:([0-9]{1,5}|\\*)$", t))])
    error_message = "allowed_targets must be at most 32 HOST:PORT patterns without commas or spaces (the function checks each at start)."
  }
}

variable "box_instance_types" {
  description = "Instance types the build function may launch."
  type        = list(string)
  default     = ["t4g.nano", "t3.nano"]
}

# 136693071363 is the account Debian's cloud team publishes its official
# AMIs from (https://wiki.debian.org/Cloud/AmazonEC2Image); the release
# parameters under /aws/service/debian/release/ name its images.
variable "ami_owners" {
  description = "Owners (ec2:Owner) of the AMIs the build function may launch: Debian's official account and \"amazon\" (AL2023)."
  type        = list(string)
  default     = ["136693071363", "amazon"]
}

variable "sweep_schedule" {
  description = "EventBridge Scheduler expression for the sweep."
  type        = string
  default     = "rate(5 minutes)"
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "function_memory_mb" {
  type    = number
  default = 1024
}

variable "function_ephemeral_mb" {
  description = "/tmp size: per-stack Terraform work directories."
  type        = number
  default     = 1024
}

variable "backup_vm_role_name" {
  description = "IAM role of the backup VM (e.g. IAM Roles Anywhere); when set, the invoke policy is attached to it."
  type        = string
  default     = ""
}

variable "step_functions_state_machine_arns" {
  description = "State machines that hand the backup VM a task token (.waitForTaskToken) for `provisioner run --task-token`; when any is given, the backup VM's policy may call states:SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat in their regions."
  type        = list(string)
  default     = []
  validation {
    condition = alltrue([for a in var.step_functions_state_machine_arns :
    can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$", a))])
    error_message = "step_functions_state_machine_arns: each must be arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME."
  }
}

# aws:PrincipalArn of an assumed-role session is the role's ARN (with its
# path), of an IAM user the user's.  No wildcards: each names one principal.
variable "deadline_writer_arns" {
  description = "IAM roles or users (arn:PARTITION:iam::ACCOUNT:role/NAME or user/NAME, the role's ARN for an assumed-role session) that run the CLI's `provisioner create`, `extend` or `run --keepalive` against this state: besides the build function's role, the only principals the bucket policy lets write a box's deadline object (<state_prefix>/deadlines/). Their own identity policies must still allow s3:PutObject there."
  type        = list(string)
  default     = []
  validation {
    condition = length(var.deadline_writer_arns) <= 16 && alltrue([for a in var.deadline_writer_arns :
    can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}$", a))])
    error_message = "deadline_writer_arns: each must be arn:PARTITION:iam::ACCOUNT:role/NAME or user/NAME (no wildcards), at most 16."
  }
}

variable "module_vars_file" {
  description = "Path, inside the image, of a JSON file of terraform/aws variables (JUMPBOX_MODULE_VARS): /var/task/module-vars.json when the image was built with `make image MODULE_VARS=FILE`."
  type        = string
  default     = ""
}
