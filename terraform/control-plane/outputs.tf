output "region" {
  value = var.region
}

output "state_bucket" {
  value = aws_s3_bucket.state.id
}

output "state_url" {
  description = "JUMPBOX_STATE of the functions."
  value       = local.state_url
}

output "repository_url" {
  description = "Where `make push` pushes the image (REPO)."
  value       = aws_ecr_repository.image.repository_url
}

output "image_uri" {
  description = "The image both functions run, pinned by digest; empty before the first push."
  value       = var.image_digest != "" ? local.image_uri : ""
}

output "build_function_name" {
  value = local.build
}

output "clean_function_name" {
  value = local.clean
}

output "box_instance_profile" {
  value = aws_iam_instance_profile.box.name
}

output "box_role_id" {
  description = "The box role's unique id (AROA...): JUMPBOX_BOX_ROLE_ID of the CLI; boxes publish under <state_prefix>/boxes/<box_role_id>:<instance id>/."
  value       = aws_iam_role.box.unique_id
}

output "backup_vm_policy_arn" {
  description = "Attach to the backup VM's identity (or set backup_vm_role_name)."
  value       = aws_iam_policy.backup_vm.arn
}

output "module_vars" {
  description = "Variables for terraform/aws that differ from its defaults (the JUMPBOX_MODULE_VARS file)."
  value = {
    region                = var.region
    clean_function_name   = local.clean
    instance_profile_name = local.box
  }
}
